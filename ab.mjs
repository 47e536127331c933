const dist = process.argv[2];
const { CsvBarReader } = await import(dist + '/streams/csv/csvBarReader.js');
const { FeatureEngine } = await import(dist + '/operators/featureEngine.js');
const { loadFeatureSet } = await import(dist + '/operators/featureSet.js');
const bars = [];
for await (const b of new CsvBarReader('/work/shared/data/BTCUSDT_binanceus_1m_20230301_20230321.csv', { symbol: 'B' })) bars.push(...b.bars);
const fs = loadFeatureSet('/work/main/topology/features/default.yaml');
function pass(engine) { for (let i = 0; i < bars.length; i++) engine.update(bars[i]); }
const rates = [];
for (let r = 0; r < 12; r++) { const e = new FeatureEngine(fs); const t = performance.now(); pass(e); rates.push(Math.round(bars.length / ((performance.now() - t) / 1000))); }
rates.sort((a, b) => b - a);
console.log(dist.padEnd(16), 'best', rates[0], 'median', rates[6]);
