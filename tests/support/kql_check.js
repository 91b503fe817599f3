// Parses and analyses Kusto (KQL) queries with Microsoft's language service, against the schema
// of Azure Resource Graph's `resources` table, and prints the diagnostics of each as JSON.
// Usage: NODE_PATH=<dir>/node_modules node kql_check.js QUERY_FILE...
'use strict';
require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
const fs = require('fs');

const Symbols = Kusto.Language.Symbols;
// Resource Graph's `resources` table. Names are bracket-quoted: `kind` and `plan` are keywords.
const columns = [
  ['id', 'string'], ['name', 'string'], ['type', 'string'], ['tenantId', 'string'],
  ['kind', 'string'], ['location', 'string'], ['resourceGroup', 'string'],
  ['subscriptionId', 'string'], ['managedBy', 'string'], ['sku', 'dynamic'], ['plan', 'dynamic'],
  ['properties', 'dynamic'], ['tags', 'dynamic'], ['identity', 'dynamic'], ['zones', 'dynamic'],
  ['extendedLocation', 'dynamic'],
];
const schema = '(' + columns.map(([n, t]) => `['${n}']:${t}`).join(', ') + ')';
const resources = new Symbols.TableSymbol.$ctor7('resources', schema, null);
if (resources.Columns.Count !== columns.length) {
  throw new Error(`schema has ${resources.Columns.Count} columns, expected ${columns.length}`);
}
const database = new Symbols.DatabaseSymbol.$ctor2('resourcegraph', null, [resources]);
const globals = Kusto.Language.GlobalState.Default.WithDatabase(database);

const results = process.argv.slice(2).map((file) => {
  const query = fs.readFileSync(file, 'utf8');
  const code = Kusto.Language.KustoCode.ParseAndAnalyze(query, globals);
  const diagnostics = code.GetDiagnostics();
  const out = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    out.push({
      severity: String(d.Severity),
      code: d.Code,
      message: d.Message,
      at: query.substr(d.Start, Math.max(d.Length, 1)),
    });
  }
  return { file, diagnostics: out };
});
console.log(JSON.stringify(results));
