import onnxProto from 'onnx-proto';

/**
 * A few helpers to write ONNX models with `onnx-proto` (the ONNX protobuf classes): enough for the
 * small graphs barflow exports itself (a linear model; tree ensembles). Writing the protobuf
 * directly keeps model export in TypeScript, with no Python converter in the training path.
 */
const onnx = onnxProto.onnx;

export const FLOAT = onnx.TensorProto.DataType.FLOAT;

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  return { name, dataType: FLOAT, dims, floatData: Array.from(values) };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = [], domain = ''): onnxProto.onnx.INodeProto {
  return { opType, input: inputs, output: outputs, attribute: attrs, domain, name: `${opType}_${outputs[0]}` };
}

/** A float32 [N, width] value (N dynamic). */
export function floatMatrix(name: string, width: number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } },
  };
}

export interface ModelParts {
  graphName: string;
  nodes: onnxProto.onnx.INodeProto[];
  initializers: onnxProto.onnx.ITensorProto[];
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  /** Opsets beyond ai.onnx 13, e.g. { 'ai.onnx.ml': 3 }. */
  opsets?: Record<string, number>;
  /** Stored in the model's metadata_props (feature schema hash, model name…). */
  metadata?: Record<string, string>;
}

/** Encodes a model; no timestamps or host names go in, so the same parts give the same bytes. */
export function encodeModel(p: ModelParts): Uint8Array {
  const opsetImport = [{ domain: '', version: 13 }, ...Object.entries(p.opsets ?? {}).map(([domain, version]) => ({ domain, version }))];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'barflow',
    opsetImport,
    graph: { name: p.graphName, node: p.nodes, initializer: p.initializers, input: p.inputs, output: p.outputs },
    metadataProps: Object.entries(p.metadata ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The same model with (sorted) metadata_props set: name, version and feature schema travel inside the file. */
export function encodeModelMetadata(bytes: Uint8Array, metadata: Record<string, string>): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  model.metadataProps = Object.entries(metadata)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  return onnx.ModelProto.encode(model).finish();
}
