package sink_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sealstore/sealstore/internal/sink"
)

func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "sink-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")

	f, err := sink.OpenFile(path)
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	err = f.Write([]sink.Record{
		{Kind: sink.KindEntry, Time: at, JSON: []byte(`{"action":"record.get","outcome":"ok"}`)},
		{Kind: sink.KindCheckpoint, Time: at, JSON: []byte(`{"checkpoint":1}`)},
	})
	if err != nil {
		log.Fatal(err) // a real caller counts the failed batch and goes on
	}
	// Rotation: mv audit.jsonl audit.jsonl.1, then SIGHUP calls Reopen.
	if err := os.Rename(path, path+".1"); err != nil {
		log.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		log.Print(err) // the old file still takes the lines
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	b, err := os.ReadFile(path + ".1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(b))
	// Output:
	// {"action":"record.get","outcome":"ok"}
	// {"checkpoint":1}
}
