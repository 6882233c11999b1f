/** random: any candidate, ignoring load and reservations, as in Swarm (meant for debugging). */
import type { Strategy } from './strategy.ts';

export function createRandomStrategy(rng: () => number = Math.random): Strategy {
  return {
    name: 'random',
    rank: (_req, nodes) => {
      const out = [...nodes];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.min(i, Math.floor(rng() * (i + 1)));
        const a = out[i];
        const b = out[j];
        if (a !== undefined && b !== undefined) {
          out[i] = b;
          out[j] = a;
        }
      }
      return out;
    },
    conditions: () => [],
    explain: () => 'no candidate node',
  };
}
