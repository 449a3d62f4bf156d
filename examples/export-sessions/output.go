package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// output is where an export writes. A fresh export goes to a temporary
// file beside the target, so that the target is replaced only by a
// complete export (rename is atomic within a directory); a resumed one
// appends to the .partial file an interrupted run left. Either way the
// target itself is never opened for writing.
type output struct {
	target  string
	partial string // target + ".partial"
	f       *os.File
	size    int64 // end of the last whole page written
	kept    int   // sessions already in the file when a resume began
}

func openOutput(target, format string, resume bool) (*output, error) {
	o := &output{target: target, partial: target + ".partial"}
	if resume {
		f, err := os.OpenFile(o.partial, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("-resume: there is no %s; an interrupted export with the same -o leaves one", o.partial)
		}
		if err != nil {
			return nil, err
		}
		n, size, err := countSessions(f, format)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("-resume: %s: %w", o.partial, err)
		}
		if _, err := f.Seek(size, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		o.f, o.size, o.kept = f, size, n
		return o, nil
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return nil, err
	}
	o.f = f
	if format == "csv" {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write(csvHeader)
		w.Flush()
		if err := o.writePage(b.Bytes()); err != nil {
			o.discard()
			return nil, err
		}
	}
	return o, nil
}

// writePage appends one whole page. If the write fails part-way, the file
// is cut back to the previous page, so that it always ends where the page
// key to resume from says.
func (o *output) writePage(b []byte) error {
	if _, err := o.f.Write(b); err != nil {
		o.f.Truncate(o.size)
		o.f.Seek(o.size, io.SeekStart)
		return err
	}
	o.size += int64(len(b))
	return nil
}

// commit puts the complete export in place of the target.
func (o *output) commit() error {
	if err := o.close(); err != nil {
		return err
	}
	return os.Rename(o.f.Name(), o.target)
}

// keep leaves what was written in the .partial file, for -resume.
func (o *output) keep() error {
	if err := o.close(); err != nil {
		return err
	}
	if o.f.Name() == o.partial {
		return nil
	}
	return os.Rename(o.f.Name(), o.partial)
}

// discard drops what this run wrote: a fresh run's temporary file, or
// nothing for a resumed run, which only appends whole pages.
func (o *output) discard() error {
	if o.f.Name() == o.partial {
		return o.f.Close()
	}
	o.f.Close()
	return os.Remove(o.f.Name())
}

func (o *output) close() error {
	if err := o.f.Chmod(0o644); err != nil {
		o.f.Close()
		return err
	}
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		return err
	}
	return o.f.Close()
}

// countSessions counts the sessions in an export and returns the size of
// its whole lines; a line cut off by a crash is refused, as resuming
// after it would leave a broken record in the middle of the file.
func countSessions(f *os.File, format string) (n int, size int64, err error) {
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				return 0, 0, errors.New("ends in the middle of a line: it was not left by an interruption; export again without -resume")
			}
			break
		}
		if err != nil {
			return 0, 0, err
		}
		size += int64(len(line))
		n++
	}
	if format == "csv" && n > 0 {
		n-- // the header
	}
	return n, size, nil
}
