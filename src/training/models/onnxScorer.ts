import { openOnnxSession, runOnnx } from '../../serving/onnx/onnxSession.js';
import { rawOutputs, type ObjectiveSpec } from '../objectives/objective.js';
import type { Artifact, Scorer } from './modelRegistry.js';

export const ONNX_MODEL_FILE = 'model.onnx';

/** The artifact of a kind that exports one ONNX graph. */
export function onnxArtifact(bytes: Uint8Array): Artifact {
  return { format: 'onnx', files: new Map([[ONNX_MODEL_FILE, bytes]]) };
}

/**
 * A scorer over a tabular artifact's single ONNX graph: [n, f] float32 in, row-major n ×
 * rawOutputs(objective) out. The graph's output width is checked against the objective on every
 * batch, so an artifact trained for another objective fails loudly instead of being misread.
 */
export async function loadTabularOnnxScorer(kind: string, artifact: Artifact, objective: ObjectiveSpec): Promise<Scorer> {
  if (artifact.format !== 'onnx') throw new Error(`${kind}: artifact format is ${artifact.format}, expected onnx`);
  const bytes = artifact.files.get(ONNX_MODEL_FILE);
  if (bytes === undefined) throw new Error(`${kind}: the artifact has no ${ONNX_MODEL_FILE} (files: ${[...artifact.files.keys()].join(', ') || 'none'})`);
  const outputs = rawOutputs(objective);
  const session = await openOnnxSession(bytes);
  return {
    outputs,
    async score(x, dims) {
      if (dims.length !== 2) throw new Error(`${kind}: a tabular scorer takes [n, f] input, got dims [${dims.join(', ')}]`);
      const out = await runOnnx(session, x, dims);
      if (out.length !== dims[0]! * outputs.length) {
        throw new Error(`${kind}: the graph gave ${out.length / Math.max(dims[0]!, 1)} columns per row, objective ${objective.objective} needs ${outputs.length} (${outputs.join(', ')})`);
      }
      return out;
    },
  };
}
