package main

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress draws the bar, only when w is a terminal: piped or logged
// stderr gets the final summary alone, not hundreds of redraws.
type progress struct {
	kept int // sessions a resumed run found already written
	bar  *progressbar.ProgressBar
	max  int // the bar's length; 0 until the first page says
}

// newProgress starts the bar's clock now, before the first request, so
// that the first rate shown is a true one; it is drawn from the first page
// on, when the total is known.
func newProgress(w io.Writer, kept int) *progress {
	p := &progress{kept: kept}
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	desc := "sessions"
	if kept > 0 {
		desc = fmt.Sprintf("%d kept, then", kept)
	}
	p.bar = progressbar.NewOptions(1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("sessions"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	)
	p.bar.StartWithoutRender()
	return p
}

// update shows n sessions fetched by this run, of total in all. A resumed
// run counts against what is left, so that its rate and ETA are those of
// this run; the description says how many were kept from before.
func (p *progress) update(n, total int) {
	if p.bar == nil {
		return
	}
	max := total - p.kept
	if total <= 0 || max < n {
		max = -1 // unknown: a spinner with the count
	}
	if max != p.max {
		p.max = max
		p.bar.ChangeMax(max)
	}
	p.bar.Set(n)
}

// stop clears the bar so that the summary starts on a clean line.
func (p *progress) stop() {
	if p.bar == nil {
		return
	}
	p.bar.Finish()
	p.bar.Clear()
}
