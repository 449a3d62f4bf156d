package main

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"

	agents "github.com/agentsapi/agents-go"
)

type writer struct {
	json *json.Encoder
	csv  *csv.Writer
}

var csvHeader = []string{"id", "agent_key", "description", "enabled", "created_at", "metadata"}

func newWriter(w io.Writer, format string) *writer {
	if format == "jsonl" {
		return &writer{json: json.NewEncoder(w)}
	}
	return &writer{csv: csv.NewWriter(w)}
}

func (w *writer) write(s agents.Session) error {
	if w.json != nil {
		return w.json.Encode(s)
	}
	md, err := json.Marshal(s.Metadata)
	if err != nil {
		return err
	}
	return w.csv.Write([]string{s.ID, s.AgentKey, s.Description, strconv.FormatBool(s.Enabled), s.CreatedAt.Format(time.RFC3339), string(md)})
}

func (w *writer) flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	return nil
}
