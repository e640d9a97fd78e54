'use strict'
// .github/workflows/CI.yml cannot run here, so it is checked statically: actionlint finds
// nothing in it (and does find planted mistakes, so the check is live), it builds every
// napi target, and it publishes with provenance on a tag only.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { lintWorkflow } = require('../scripts/lint-workflows.js')
const pkg = require('../package.json')

const file = path.join('.github', 'workflows', 'CI.yml')
const text = fs.readFileSync(path.join(__dirname, '..', file), 'utf8')

describe('the release workflow', () => {
  it('passes actionlint', async () => {
    const findings = await lintWorkflow(text, file)
    assert.deepEqual(findings.map((f) => `${f.line}:${f.column} ${f.kind}: ${f.message}`), [])
  })

  it('actionlint reports mistakes planted in it', async () => {
    const broken = text
      .replace(/needs: \[test-linux-x64-gnu, test, test-musl\]/, 'needs: [test-linux-x64-gnu, tests, test-musl]')
      .replace('${{ matrix.flags }}', '${{ matrix.flag }}')
    assert.notEqual(broken, text)
    const kinds = (await lintWorkflow(broken, file)).map((f) => f.kind).sort()
    assert.deepEqual(kinds, ['expression', 'job-needs'])
  })

  it('builds every target in napi.targets and tests each binary', () => {
    const build = text.slice(text.indexOf('\n  build:'), text.indexOf('\n  test-linux-x64-gnu:'))
    for (const t of pkg.napi.targets) {
      assert.match(build, new RegExp(`target: ${t}[ ,}]`), `${t} is not built`)
      const tests = text.slice(text.indexOf('\n  test-linux-x64-gnu:'), text.indexOf('\n  publish:'))
      assert.ok(tests.includes(t), `${t} is not tested`)
    }
  })

  it('publishes on a version tag only, with provenance', () => {
    const publish = text.slice(text.indexOf('\n  publish:'))
    assert.match(text, /tags: \['v\*'\]/)
    assert.match(publish, /if: startsWith\(github\.ref, 'refs\/tags\/v'\)/)
    assert.match(publish, /id-token: write/)
    assert.match(publish, /npx napi artifacts/)
    assert.match(publish, /npm publish "\$dir" --provenance/)
    assert.match(publish, /npm publish --provenance --access public --ignore-scripts/)
  })
})
