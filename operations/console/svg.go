package console

import (
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/store-manager/store-manager/operations/sagareport"
)

// bars draws counts by name as a horizontal bar chart, in inline SVG.
func bars(counts map[string]int64) template.HTML {
	names := make([]string, 0, len(counts))
	var top int64 = 1
	for n, c := range counts {
		names = append(names, n)
		top = max(top, c)
	}
	slices.Sort(names)
	const row, label, width = 22, 170, 260
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="%d" height="%d" role="img" aria-label="sagas by state">`, label+width+70, row*len(names)+4)
	for i, n := range names {
		w := int(float64(counts[n]) / float64(top) * width)
		y := i * row
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text><rect x="%d" y="%d" width="%d" height="16" fill="#3b7dd8"/><text x="%d" y="%d">%d</text>`,
			y+14, template.HTMLEscapeString(n), label, y+2, max(w, 1), label+w+6, y+14, counts[n])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// latencyChart draws each step's p50, p95 and p99 as three bars, in inline SVG.
func latencyChart(steps []sagareport.StepLatency) template.HTML {
	top := 1.0
	for _, s := range steps {
		top = max(top, float64(s.P99.Microseconds())/1000)
	}
	const row, label, width = 54, 170, 260
	colors := []string{"#8fbf5a", "#e0a030", "#d0463b"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="%d" height="%d" role="img" aria-label="saga step latency">`, label+width+150, row*len(steps)+4)
	for i, s := range steps {
		y := i * row
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, y+20, template.HTMLEscapeString(s.Step))
		for j, d := range []float64{float64(s.P50.Microseconds()) / 1000, float64(s.P95.Microseconds()) / 1000, float64(s.P99.Microseconds()) / 1000} {
			w := int(d / top * width)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="14" fill="%s"/><text x="%d" y="%d">p%s %.1f ms</text>`,
				label, y+2+j*16, max(w, 1), colors[j], label+w+6, y+14+j*16, []string{"50", "95", "99"}[j], d)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
