import onnxProto from 'onnx-proto';
import { floatTensor, node } from '../../../../serving/onnx/onnxGraph.js';

const onnx = onnxProto.onnx;
const AttrType = onnx.AttributeProto.AttributeType;

/**
 * The nodes and initializers of a graph under construction. Value names come from a counter
 * (`v0`, `v1`, …) in conversion order, never from tfjs layer names: tfjs numbers unnamed layers
 * from a process-wide counter, so names would change the bytes of the same model built twice.
 */
export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private next = 0;

  /** A fresh value name; `hint` (an op or layer class) only makes the graph readable. */
  name(hint: string): string {
    return `v${this.next++}_${hint}`;
  }

  floats(hint: string, dims: number[], values: ArrayLike<number>): string {
    const name = this.name(hint);
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  int64s(hint: string, values: number[]): string {
    const name = this.name(hint);
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values });
    return name;
  }

  /** An int64 initializer of any shape (Gather's indices). */
  int64Tensor(hint: string, dims: number[], values: number[]): string {
    const name = this.name(hint);
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.INT64, dims, int64Data: values });
    return name;
  }

  /** Adds one node with a single output and returns that output's name. */
  op(opType: string, inputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = []): string {
    const out = this.name(opType);
    this.nodes.push(node(opType, inputs, [out], attrs));
    return out;
  }

  /** Adds one node with the given output names ('' leaves an optional output out). */
  opMulti(opType: string, inputs: string[], outputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = []): void {
    this.nodes.push({ ...node(opType, inputs, outputs, attrs), name: `${opType}_${outputs.find((o) => o !== '')}` });
  }
}

export const attr = {
  int: (name: string, i: number): onnxProto.onnx.IAttributeProto => ({ name, type: AttrType.INT, i }),
  ints: (name: string, ints: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: AttrType.INTS, ints }),
  float: (name: string, f: number): onnxProto.onnx.IAttributeProto => ({ name, type: AttrType.FLOAT, f }),
  floats: (name: string, floats: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: AttrType.FLOATS, floats }),
  string: (name: string, s: string): onnxProto.onnx.IAttributeProto => ({ name, type: AttrType.STRING, s: new TextEncoder().encode(s) }),
  strings: (name: string, strings: string[]): onnxProto.onnx.IAttributeProto => ({ name, type: AttrType.STRINGS, strings: strings.map((s) => new TextEncoder().encode(s)) }),
};
