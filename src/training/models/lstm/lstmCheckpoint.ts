/** The LSTM's checkpoint file: the shared neural checkpoint (neural/checkpoint.ts) named lstm.ckpt. */
import { checkpointFile as neuralCheckpointFile } from '../neural/checkpoint.js';
import { lstmNet } from './lstmNet.js';

export function checkpointFile(dir: string): string {
  return neuralCheckpointFile(dir, lstmNet.name);
}
