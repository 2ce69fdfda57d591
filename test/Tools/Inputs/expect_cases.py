"""Checks ds-run --expect-dir against expected outputs that are right and that
are wrong in one way each. Builds a model whose outputs cover f32, f16, bf16,
the four float8 kinds, int4, int32, bool and f32 infinities / NaN, computes the
right outputs with onnx's reference evaluator, then writes one expected
directory per case and prints `case: exit N: first line of ds-run's stdout`.

usage: expect_cases.py DIR DS_COMPILE DS_RUN
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

DIR, DS_COMPILE, DS_RUN = sys.argv[1:4]
CASTS = [("f16", T.FLOAT16), ("bf16", T.BFLOAT16), ("e4m3fn", T.FLOAT8E4M3FN),
         ("e5m2", T.FLOAT8E5M2), ("e4m3fnuz", T.FLOAT8E4M3FNUZ), ("e5m2fnuz", T.FLOAT8E5M2FNUZ),
         ("i4", T.INT4), ("i32", T.INT32)]


def model():
    nodes = [helper.make_node("Mul", ["x", "two"], ["f32"]),
             helper.make_node("Mul", ["z", "two"], ["inf"]),
             helper.make_node("Greater", ["x", "zero"], ["bool"])]
    nodes += [helper.make_node("Cast", ["x"], [name], to=to) for name, to in CASTS]
    outputs = [helper.make_tensor_value_info("f32", T.FLOAT, [6]),
               helper.make_tensor_value_info("inf", T.FLOAT, [3]),
               helper.make_tensor_value_info("bool", T.BOOL, [6])]
    outputs += [helper.make_tensor_value_info(name, to, [6]) for name, to in CASTS]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", T.FLOAT, [6]),
                     helper.make_tensor_value_info("z", T.FLOAT, [3])], outputs,
        [numpy_helper.from_array(np.array(2, np.float32), "two"),
         numpy_helper.from_array(np.array(0, np.float32), "zero")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def main():
    m = model()
    path, dsx = os.path.join(DIR, "expect.onnx"), os.path.join(DIR, "expect.dsx")
    onnx.save(m, path)
    subprocess.check_call([DS_COMPILE, path, "-o", dsx, "--quiet"])
    feeds = {"x": np.array([-2.5, -1, 0, 0.5, 1.75, 3], np.float32),
             "z": np.array([3e38, -3e38, np.nan], np.float32)}
    for name, value in feeds.items():
        with open(os.path.join(DIR, name + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(value, name).SerializeToString())
    names = [o.name for o in m.graph.output]
    with np.errstate(over="ignore"):
        right = dict(zip(names, ReferenceEvaluator(m).run(None, feeds)))

    def case(label, change=lambda out: None, extra=None, as_npy=None):
        """An expected directory: the right outputs with `change` applied."""
        out = {k: v.copy() for k, v in right.items()}
        change(out)
        d = os.path.join(DIR, label)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for i, name in enumerate(names):
            if out.get(name) is None:
                continue
            if name == as_npy:
                np.save(os.path.join(d, f"output_{i}.npy"), out[name])
                continue
            tensor = numpy_helper.from_array(out[name], name)
            if name in ("i4", "e4m3fn"):   # ONNX's int32_data form as well as raw_data
                tensor = helper.make_tensor(name, tensor.data_type, out[name].shape,
                                            out[name].astype(np.float32).tolist())
            with open(os.path.join(d, f"output_{i}.pb"), "wb") as f:
                f.write(tensor.SerializeToString())
        if extra:
            shutil.copy(os.path.join(d, "output_0.pb"), os.path.join(d, f"output_{len(names)}.pb"))
        proc = subprocess.run([DS_RUN, dsx, "--quiet", "--expect-dir", d,
                               "--input=x=" + os.path.join(DIR, "x.pb"),
                               "--input=z=" + os.path.join(DIR, "z.pb")],
                              capture_output=True, text=True)
        text = [l.strip() for l in proc.stdout.replace(DIR + "/", "").strip().splitlines()]
        print(f"{label}: exit {proc.returncode}: " + (" | ".join(text) or proc.stderr.strip()))

    def put(name, index, value):
        def change(out):
            out[name][index] = value
        return change

    case("right")
    case("right-npy", as_npy="f32")
    case("within-tolerance", put("f32", 4, 3.5 * (1 + 5e-4)))
    case("beyond-tolerance", put("f32", 4, 3.5 * (1 + 2e-3)))
    for name in ("f16", "bf16", "e4m3fn", "e5m2", "e4m3fnuz", "e5m2fnuz", "i4", "i32"):
        case("wrong-" + name, put(name, 1, 2))
    case("wrong-bool", put("bool", 0, True))
    case("inf-for-finite", put("f32", 0, np.inf))
    case("inf-sign", put("inf", 0, -np.inf))
    case("nan-for-inf", put("inf", 1, np.nan))
    case("finite-for-nan", put("inf", 2, 0))
    case("dtype", lambda out: out.update(f32=out["f32"].astype(np.float64)))
    case("shape", lambda out: out.update(f32=out["f32"].reshape(2, 3)))
    case("missing-output", lambda out: out.update(f32=None))
    case("extra-output", extra=True)


if __name__ == "__main__":
    main()
