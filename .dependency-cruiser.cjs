// The layering of src/, checked by `npm test` (scripts/check-layers.sh): every rule below is a
// direction a module must not import in. The check runs on tsc's JavaScript output, where type-only
// imports are gone (dependency-cruiser cannot read TypeScript 7 itself), so "the page imports only the
// engine's protocol types" is a rule about what the page's bundle really contains.
//
//   shaders → kernels → model → score / train → pipeline → engine → worker / ui and cli
//   (gpu, util, errors, storage, tokenizer and data are below the layers that use them; settings, the
//   run's defaults, is data that reaches nothing but the prompt templates)

const layer = (name, path, mayNotImport) => ({
  name,
  severity: 'error',
  comment: `${name}: ${path} must not import ${mayNotImport}`,
  from: { path },
  to: { path: mayNotImport },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no import cycles', from: {}, to: { circular: true } },
    layer('settings-is-data', '^src/settings/', '^src/(?!data/prompts\\.)'),
    layer('base-stays-base', '^src/(util/|errors\\.|storage/)', '^src/(gpu|kernels|model|tokenizer|data|score|train|teacher|pipeline|demo|engine|rpc|ui|cli)'),
    layer('gpu-below-kernels', '^src/gpu/', '^src/(kernels|model|tokenizer|data|score|train|teacher|pipeline|demo|engine|rpc|ui|cli)'),
    layer('kernels-below-model', '^src/kernels/', '^src/(model|tokenizer|data|score|train|teacher|pipeline|demo|engine|rpc|ui|cli)'),
    layer('tokenizer-alone', '^src/tokenizer/', '^src/(gpu|kernels|model|data|score|train|teacher|pipeline|demo|engine|rpc|ui|cli)'),
    layer('model-below-score-and-train', '^src/model/', '^src/(data|score|train|teacher|pipeline|demo|engine|rpc|ui|cli)'),
    layer('data-below-score-and-train', '^src/data/', '^src/(gpu|kernels|model|score|train|teacher|pipeline|demo|engine|rpc|ui|cli)'),
    layer('score-and-train-below-pipeline', '^src/(score|train)/', '^src/(teacher|pipeline|demo|engine|rpc|ui|cli)'),
    layer('teacher-below-pipeline', '^src/teacher/', '^src/(score|train|pipeline|demo|engine|rpc|ui|cli)'),
    layer('pipeline-below-engine', '^src/pipeline/', '^src/(demo|engine|rpc|ui|cli)'),
    layer('engine-below-ui-and-cli', '^src/(engine|rpc)\\.|^src/engine/', '^src/(ui|cli)'),
    layer('cli-is-not-the-page', '^src/cli', '^src/ui/'),
    layer('ui-is-not-the-cli', '^src/ui/', '^src/cli'),
    {
      name: 'page-without-the-engine',
      severity: 'error',
      comment: 'the page talks to the engine in its worker: it may import the protocol types, and pure helpers, never code that reaches the GPU, the trainer or the pipeline',
      from: { path: '^src/ui/' },
      to: { path: '^src/(gpu|kernels|train|teacher|engine)', reachable: true },
    },
    {
      name: 'index-is-the-public-api-only',
      severity: 'error',
      comment: 'src/index.ts is for users of the library: the code itself imports the modules',
      from: { path: '^src/', pathNot: '^src/index\\.' },
      to: { path: '^src/index\\.' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\?raw$' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.js'] },
  },
};
