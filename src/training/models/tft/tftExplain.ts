/**
 * The TFT's inspection weights (Lim et al. 2021, §7): for each row, the interpretable attention of
 * the row's own step over the window (heads averaged, so one weight per step, summing to 1) and
 * the variable selection weights of the row's step (one per feature, summing to 1). Computed in
 * TensorFlow.js from the bundle's tfjs files (the ONNX graph has one output, the prediction): the
 * model is cut at the attention layer's input and at the selection softmax.
 */
import * as tf from '@tensorflow/tfjs';
import type { Explanation } from '../modelRegistry.js';
import { SelfAttention } from '../neural/layers/selfAttention.js';
import { type NeuralModel, loadNeural } from '../neural/neuralModel.js';
import { backendSelected, selectBackend } from '../neural/tfBackend.js';
import { TFT_ATTENTION_LAYER, TFT_SELECTION_LAYER, tftNet } from './tftKind.js';

const CHUNK = 512;

export class TftExplainer {
  private constructor(
    private readonly model: NeuralModel,
    private readonly cut: tf.LayersModel,
    private readonly attention: SelfAttention,
  ) {}

  static async open(files: Map<string, Uint8Array>): Promise<TftExplainer> {
    if (!backendSelected()) await selectBackend('auto');
    const model = await loadNeural(files, tftNet);
    const m = model.layersModel;
    const attention = m.getLayer(TFT_ATTENTION_LAYER);
    if (!(attention instanceof SelfAttention)) throw new Error(`TFT model: layer ${TFT_ATTENTION_LAYER} is a ${attention.getClassName()}, not the attention`);
    const selection = m.getLayer(TFT_SELECTION_LAYER);
    const cut = tf.model({ inputs: m.inputs, outputs: [attention.input as tf.SymbolicTensor, selection.output as tf.SymbolicTensor] });
    return new TftExplainer(model, cut, attention);
  }

  explain(x: Float32Array, dims: number[]): Explanation {
    const [n, steps, features] = dims as [number, number, number];
    const attention = new Float64Array(n * steps);
    const selection = new Float64Array(n * features);
    for (let s = 0; s < n; s += CHUNK) {
      const b = Math.min(CHUNK, n - s);
      tf.tidy(() => {
        const [enriched, weights] = this.cut.predict(tf.tensor(x.subarray(s * steps * features, (s + b) * steps * features), [b, steps, features])) as tf.Tensor[];
        // [b, 1, T, T] → the last query's row; [b, T, C] → the last step.
        const a = tf.slice(this.attention.attentionWeights(enriched!), [0, 0, steps - 1, 0], [b, 1, 1, steps]);
        attention.set(a.dataSync(), s * steps);
        selection.set(tf.slice(weights!, [0, steps - 1, 0], [b, 1, features]).dataSync(), s * features);
      });
    }
    return {
      parts: [
        { name: 'attention', axis: 'steps', width: steps, values: attention },
        { name: 'selection', axis: 'features', width: features, values: selection },
      ],
    };
  }

  dispose(): void {
    this.model.dispose();
  }
}
