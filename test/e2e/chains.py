"""Training-shaped ds programs for the rematerialization and gradient tests and
benchmarks (kept free of engine imports, like feeds.py).

activation_chain: n activations computed forward and read back in reverse by
a "backward" half, all alive at the turn: the shape of a training step,
without gradients. residual_chain: x_{i+1} = x_i + tanh(x_i W_i), a model to
differentiate, with its weights as constants."""


def activation_chain(path, n=12, size=64):
    t = f"tensor<{size}x{size}xf32>"
    lines = [f"func.func @main(%x: {t}) -> {t} {{"]
    prev = "%x"
    for i in range(1, n + 1):
        lines.append(f"  %a{i} = ds.unary tanh {prev} : ({t}) -> {t}")
        prev = f"%a{i}"
    lines.append(f"  %g{n} = ds.binary mul %a{n}, %a{n} : ({t}, {t}) -> {t}")
    for i in range(n - 1, 0, -1):
        lines.append(f"  %s{i} = ds.unary sigmoid %a{i} : ({t}) -> {t}")
        lines.append(f"  %g{i} = ds.binary add %g{i + 1}, %s{i} : ({t}, {t}) -> {t}")
    lines += [f"  return %g1 : {t}", "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)


def residual_chain(path, weights, batch):
    """`weights`: square float32 arrays, one per block (named w0, w1, ...);
    input "x" [batch, hidden], output "y"."""
    hidden = weights[0].shape[0]
    t, w = f"tensor<{batch}x{hidden}xf32>", f"tensor<{hidden}x{hidden}xf32>"
    lines = [f'func.func @main(%x0: {t} {{ds.name = "x"}}) -> ({t} {{ds.name = "y"}}) {{']
    for i, weight in enumerate(weights):
        values = ", ".join(f"[{', '.join(repr(float(v)) for v in row)}]" for row in weight)
        lines += [f'  %w{i} = ds.constant dense<[{values}]> : {w} loc("w{i}")',
                  f"  %h{i} = ds.matmul %x{i}, %w{i} : ({t}, {w}) -> {t}",
                  f"  %a{i} = ds.unary tanh %h{i} : ({t}) -> {t}",
                  f"  %x{i + 1} = ds.binary add %x{i}, %a{i} : ({t}, {t}) -> {t}"]
    lines += [f"  return %x{len(weights)} : {t}", "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)
