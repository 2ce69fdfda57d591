#!/usr/bin/env python3
"""Writes a model whose graph is one chain of N dependent nodes (Add of a constant
then Neg, alternating) to check that import, compilation and execution walk graphs
without recursion.   usage: gen_long_chain.py --nodes 100000 --out chain.onnx"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    one = numpy_helper.from_array(np.ones([1], np.float32), "one")
    nodes, prev = [], "X"
    for i in range(args.nodes):
        out = "v%d" % i if i + 1 < args.nodes else "Y"
        if i % 2 == 0:
            nodes.append(helper.make_node("Add", [prev, "one"], [out], name="add_%d" % i))
        else:
            nodes.append(helper.make_node("Neg", [prev], [out], name="neg_%d" % i))
        prev = out
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4])], [one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, args.out)


if __name__ == "__main__":
    main()
