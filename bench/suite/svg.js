'use strict'
// A tiny dependency-free SVG writer for horizontal bar charts (one chart per workload).
//
//   barChart({ title, subtitle?, unit, better: 'higher' | 'lower',
//              bars: [{ label, value, text?, note?, highlight? }],
//              markers?: [{ value, label }] }) -> string
//
// Bars share one linear scale starting at 0; `text` is the value label drawn after the bar
// (default: the number and the unit), `note` a grey second label (e.g. the event-loop delay),
// `highlight` paints the bar in the accent colour (the `pool` rows). A marker is a dashed
// vertical line across all bars (a target), labelled at the top.

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

const WIDTH = 900
const LABEL_W = 210 // left column with the contender names
const VALUE_W = 330 // room right of the longest bar for its value label and note
const BAR_H = 20
const GAP = 8
const COLORS = { bar: '#9aa5b1', highlight: '#e8590c', marker: '#1c7ed6', text: '#212529', muted: '#6c757d' }

function barChart({ title, subtitle, unit, better, bars, markers = [] }) {
  if (!Array.isArray(bars) || bars.length === 0) throw new TypeError('barChart needs at least one bar')
  const finite = (v) => Number.isFinite(v) && v >= 0
  const top = 58 + (markers.length ? 16 : 0)
  const height = top + bars.length * (BAR_H + GAP) + 24
  const plotW = WIDTH - LABEL_W - VALUE_W
  const maxV = Math.max(...bars.map((b) => (finite(b.value) ? b.value : 0)), ...markers.map((m) => (finite(m.value) ? m.value : 0))) || 1
  const x = (v) => LABEL_W + (v / maxV) * plotW
  const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toPrecision(2))
  const out = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`)
  out.push(`<title>${esc(title)}</title>`)
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="12" y="22" font-size="15" font-weight="600" fill="${COLORS.text}">${esc(title)}</text>`)
  const sub = `${unit}, ${better} is better${subtitle ? ` · ${subtitle}` : ''}`
  out.push(`<text x="12" y="40" fill="${COLORS.muted}">${esc(sub)}</text>`)
  bars.forEach((b, i) => {
    const y = top + i * (BAR_H + GAP)
    const ok = finite(b.value)
    const w = ok ? Math.max(1, x(b.value) - LABEL_W) : 0
    const weight = b.highlight ? ' font-weight="600"' : ''
    out.push(`<g class="bar">`)
    out.push(`<text x="${LABEL_W - 8}" y="${y + BAR_H / 2 + 4}" text-anchor="end" fill="${COLORS.text}"${weight}>${esc(b.label)}</text>`)
    if (ok) {
      out.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" rx="2" fill="${b.highlight ? COLORS.highlight : COLORS.bar}"/>`)
    }
    const label = ok ? (b.text ?? `${fmt(b.value)} ${unit}`) : 'failed'
    const note = b.note ? `<tspan fill="${COLORS.muted}" font-weight="400">  ${esc(b.note)}</tspan>` : ''
    out.push(`<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H / 2 + 4}" fill="${COLORS.text}"${weight}>${esc(label)}${note}</text>`)
    out.push(`</g>`)
  })
  const y0 = top - 6
  const y1 = top + bars.length * (BAR_H + GAP) - GAP + 6
  markers.forEach((m, i) => {
    if (!finite(m.value)) return
    const mx = x(m.value).toFixed(1)
    out.push(`<line class="target" x1="${mx}" y1="${y0}" x2="${mx}" y2="${y1}" stroke="${COLORS.marker}" stroke-width="1.5" stroke-dasharray="4 3"/>`)
    out.push(`<text x="${mx}" y="${y0 - 4 - i * 12}" text-anchor="middle" font-size="11" fill="${COLORS.marker}">${esc(m.label)}</text>`)
  })
  out.push(`<line x1="${LABEL_W}" y1="${y0}" x2="${LABEL_W}" y2="${y1}" stroke="${COLORS.muted}" stroke-width="1"/>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

module.exports = { barChart, escapeXml: esc }
