//===- TrainingPasses.td - gradients and remat -------------*- tablegen -*-===//
//
// Training: parameters, gradients, optimizer steps, rematerialization. Included
// by Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_TRAININGPASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_TRAININGPASSES_TD

include "mlir/Pass/PassBase.td"

def PromoteParametersPass : Pass<"ds-promote-parameters", "ModuleOp"> {
  let summary = "Make a model's trainable constants arguments that default to their values";
  let description = [{
    The first step of a gradient compile, right after import: each parameter
    (the float constants named in `parameters`, or every float constant of
    two or more elements with a use gradients flow through) becomes an
    argument of `@main` named as its initializer (`ds.name`), defaulting to
    its value (`ds.default`) and marked `ds.parameter`, which ds-autodiff
    differentiates against. Done before canonicalization and CSE, which
    would otherwise fold parameters into other constants or merge equal ones
    (a fresh model's LayerNorm weights are all ones) into one.
  }];
  let options = [
    ListOption<"parameters", "parameters", "std::string",
               "Initializers to train (default: every float constant of two or more elements)">,
  ];
}

def AutodiffPass : Pass<"ds-autodiff", "ModuleOp"> {
  let summary = "Turn @main into the gradient of its loss with respect to its parameters";
  let description = [{
    Reverse-mode differentiation of `@main` with respect to the arguments
    ds-promote-parameters marked; without any, the parameters (float
    constants of two or more elements that feed an operand gradients flow
    through: not only shapes, indices, conditions, resize scales,
    quantization parameters or rotary position caches; or the initializers
    named in `parameters`) are promoted here first: they become arguments that default to
    their current values (`ds.default`), named as the initializers; `@main`
    then returns the loss and, for each parameter in order, its gradient
    named `<parameter>.grad`. A caller that feeds no parameters gets the
    gradient at the model's own weights; one that feeds updated values gets
    it there.

    The loss is the output named `loss` (or the only one-element float
    output), or, with `loss-function`, a standard loss appended to the
    output named `loss` (or the only output): `mse`, the mean squared
    difference from a new input `target` of the output's type;
    `cross-entropy`, the mean negative log-softmax of the logits (last dim:
    classes) at the class ids of a new int64 input `labels`. With
    `scale-loss`, the gradients are those of loss × `loss_scale` (a new f32
    input, default 1), so fp16 gradients stay clear of the subnormals;
    ds-optimizer-step divides them back and skips a step whose gradients
    are not finite.

    Fake quantization (`dequantize(quantize(x))`) passes the clipped
    straight-through estimator to x; a scale that is a parameter learns its
    step size (LSQ). With `lsq-grad-scale` its gradient is multiplied by
    1/sqrt(N·Qp), LSQ's gradient scale (N: the elements of x per scale
    value, so one channel's for per-channel scales; Qp: the largest integer
    the range allows), as PyTorch's learnable fake quantization with that
    `grad_factor`; x's shape must be static.

    The backward ops are vector-Jacobian products from one table of rules
    (lib/Dialect/DS/Transforms/GradientRules.cpp): unary (neg, exp, log,
    sqrt, reciprocal, tanh, sigmoid, relu, abs, erf, gelu, gelu_tanh), binary (add,
    sub, mul, div, pow, with broadcasting), matmul, convolution (one group),
    reduce sum / mean,
    softmax and log-softmax, layer and RMS normalization, reshape,
    transpose, expand, slice, concat, select, float casts, embedding gathers,
    attention (probabilities recomputed) and rotary embeddings. An op on a
    path from a parameter to the loss without a rule is an error naming it.
    With `fused-attention-grad` (the default), ds.attention's backward is one
    `ds.attention_grad`, whose kernel recomputes the probabilities tile by
    tile and never holds them whole; where a mask's own gradient is wanted
    (a mask computed from parameters) it is composed of ds ops.
    Shapes must be static. Run it before fusion (fusion groups have no
    rules) and after attention raising, so that attention's backward is the
    fused op (the compile pipeline does both, with `gradients=true`).
  }];
  let options = [
    Option<"loss", "loss", "std::string", /*default=*/"\"\"",
           "Name of the output to differentiate ('': the only one-element float output), or that a standard loss-function compares">,
    Option<"lossFunction", "loss-function", "std::string", /*default=*/"\"\"",
           "'' (the output is the loss), mse (against a new input 'target') or cross-entropy (logits against a new input 'labels', int64 class ids)">,
    ListOption<"parameters", "parameters", "std::string",
               "Initializers to differentiate against (default: every float constant of two or more elements)">,
    Option<"scaleLoss", "scale-loss", "bool", /*default=*/"false",
           "Differentiate loss × a new input 'loss_scale' (dynamic loss scaling for fp16)">,
    Option<"lsqGradScale", "lsq-grad-scale", "bool", /*default=*/"false",
           "Scale learned quantization step sizes' gradients by 1/sqrt(N·Qp) (LSQ)">,
    Option<"fusedAttentionGrad", "fused-attention-grad", "bool", /*default=*/"true",
           "ds.attention's backward as one ds.attention_grad (a CPU kernel); false: composed of matmuls and a softmax, for backends without it">,
  ];
}

def OptimizerStepPass : Pass<"ds-optimizer-step", "ModuleOp"> {
  let summary = "Turn a gradient program into one training step: new parameters and optimizer state";
  let description = [{
    Runs on ds-autodiff's output (results `loss` and `<p>.grad` for inputs
    `<p>`) and replaces each gradient with the parameter's next value,
    `<p>.next`, and the optimizer's state after the step:

    - `sgd`: p ← p − lr·(g + wd·p), or with `momentum` μ > 0, as PyTorch's
      SGD: b ← μ·b + (g + wd·p), p ← p − lr·b; state input `<p>.momentum`
      (result `<p>.momentum.next`);
    - `adamw`: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
      p ← p·(1 − lr·wd) − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε), as PyTorch's
      AdamW; state inputs `<p>.adam_m`, `<p>.adam_v` and the step number
      `step` (t, counted from 1).

    The learning rate is an input, `learning_rate`, defaulting to `lr`, so a
    schedule changes it per step without a new compile; state inputs
    default to zeros and `step` to 1. A caller feeds each `X.next` result
    back as input `X` for the next step (ds.TrainingSession does).

    When the program has a `loss_scale` input (ds-autodiff's `scale-loss`),
    the gradients are divided by it first, and a result `grads_finite`
    (f32: 1 or 0) says whether every gradient is finite; when one is not,
    every `.next` result is its input unchanged (the step is skipped) and
    the caller lowers the scale.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"sgd\"", "sgd or adamw">,
    Option<"lr", "lr", "double", /*default=*/"0.01", "Default learning rate">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0", "SGD momentum">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW β1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "AdamW β2">,
    Option<"epsilon", "epsilon", "double", /*default=*/"1e-8", "AdamW ε">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "Weight decay (decoupled for AdamW, added to the gradient for SGD)">,
  ];
}

def RematerializePass : Pass<"ds-rematerialize", "ModuleOp"> {
  let summary = "Recompute values near their uses instead of keeping them alive, under a memory budget";
  let description = [{
    Lowers the peak bytes of `@main`'s intermediates (as the memory analysis
    counts them) by trading compute for memory. First the steps are
    reordered: a list scheduler runs the ready op that frees the most bytes
    first (kept only if the peak drops). Then values alive across the peak
    step, and not read there, are dropped after their last earlier use and
    recomputed (their producers cloned) right before their first later use;
    inputs of a recomputation that are dead by then are recomputed too, back
    to values still alive, arguments and constants. Strategies:

    - `greedy`: repeatedly drop the value that lowers the peak most (ties:
      least recomputation), at whichever step is the peak, until the peak
      fits `budget` or nothing lowers it (no budget: as low as it goes);
      when single drops stall above the budget, it starts again from the
      `sqrt` plan and refines that;
    - `sqrt`: Chen et al.'s √n checkpoints: of the k values alive across
      the peak, keep every ⌈√k⌉-th and recompute each run between two kept
      ones together, once;
    - `optimal`: every subset of the values alive across the peak (at most
      14 of them; larger graphs are refused), runs recomputed together as
      in `sqrt`, and the greedy and √n plans: the one that fits the budget
      with the least recomputation (no budget: the lowest peak).

    Ops with side effects and random generators (ops with a `seed`) are
    never recomputed; recomputed ops run the same kernels on the same
    inputs, so outputs are bit-identical. A peak that already fits the
    budget leaves the IR as it is. A budget no strategy reaches is an error
    naming the smallest peak found and a lower bound (the largest step's own
    operands and results). Dynamic dims are refused (the peak is only known
    per input shape). Run before `ds-fuse`: fusion then groups the copies
    with their consumers.
  }];
  let options = [
    Option<"budget", "budget", "std::string", /*default=*/"\"\"",
           "Peak bytes to reach: 1000000, 64KB, 1.5MiB, 2GB ('': none)">,
    Option<"strategy", "strategy", "std::string", /*default=*/"\"greedy\"",
           "greedy, sqrt or optimal">,
    Option<"schedule", "schedule", "bool", /*default=*/"true",
           "Reorder independent ops to lower the peak first">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Remark the peak before and after, the ops recomputed and their FLOPs">,
  ];
}

#endif // DS_DIALECT_DS_TRANSFORMS_TRAININGPASSES_TD
