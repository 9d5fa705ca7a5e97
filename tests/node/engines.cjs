// Runs Node's Ajv (draft 2020-12, strict mode, ajv-formats) over the shipped schemas for
// tests/test_schema_engines.py. Reads a job from stdin:
//   {"dirs": {"<mode>": "<schema folder>"}, "payloads": [...]}
// and prints {"compiled": {mode: [file]}, "examples": {mode: [failure]},
//             "verdicts": {mode: [bool]}, "warnings": [text]}:
// every file compiled, the documented examples that failed their own schema, and the union's
// verdict on each payload. Anything Ajv logs (warnings included) is reported, not hidden.
"use strict";
const fs = require("fs");
const path = require("path");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

const warnings = [];
const logger = {
  log: (...args) => warnings.push(args.join(" ")),
  warn: (...args) => warnings.push(args.join(" ")),
  error: (...args) => warnings.push(args.join(" ")),
};

const job = JSON.parse(fs.readFileSync(0, "utf8"));
const out = { compiled: {}, examples: {}, verdicts: {}, warnings };
for (const [mode, dir] of Object.entries(job.dirs)) {
  const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true, logger }));
  const files = fs.readdirSync(dir).filter((name) => name.endsWith(".schema.json")).sort();
  const schemas = files.map((name) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")));
  schemas.forEach((schema) => ajv.addSchema(schema));
  out.compiled[mode] = [];
  out.examples[mode] = [];
  schemas.forEach((schema, i) => {
    const validate = ajv.getSchema(schema.$id); // compiles, or throws on a strict-mode error
    out.compiled[mode].push(files[i]);
    for (const example of schema.examples || []) {
      if (!validate(example)) {
        out.examples[mode].push(`${files[i]}: ${ajv.errorsText(validate.errors)}`);
      }
    }
  });
  const union = ajv.getSchema(schemas[files.indexOf("callback.schema.json")].$id);
  out.verdicts[mode] = job.payloads.map((payload) => union(payload));
}
process.stdout.write(JSON.stringify(out));
