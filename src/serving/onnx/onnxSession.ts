import * as ort from 'onnxruntime-node';

/**
 * An onnxruntime session that gives the same bits for a row whatever the batch it comes in: one
 * intra-op and one inter-op thread. With more threads onnxruntime splits tree ensembles by trees or
 * by rows depending on the batch size, which changes the order of the sums (measured: 706 of 3,000
 * rows differed in the last bits between batches of 1 and of 3,000). Parity of `barflow predict`
 * (large batches) with the live topology (small ones) needs this.
 */
export function openOnnxSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

/** Runs a [n, …dims] float32 input through the session's single input and output, as float64. */
export async function runOnnx(session: ort.InferenceSession, x: Float32Array, dims: number[]): Promise<Float64Array> {
  if (dims[0] === 0) return new Float64Array(0);
  const size = dims.reduce((a, b) => a * b, 1);
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.subarray(0, size), dims) });
  return Float64Array.from(out[session.outputNames[0]!]!.data as Float32Array);
}
