package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sealstore/sealstore/internal/server"
)

// runEmbedded compares sealstore on the embedded default with the
// ceiling, the trivial handler.
func (h *harness) runEmbedded(o options, tmp string) (report, error) {
	rep := h.newReport("embedded")
	ceiling, err := startChild("ceiling", "ceiling", filepath.Join(tmp, "ceiling"), o.size, false)
	if err != nil {
		return rep, err
	}
	defer h.track(ceiling).stop()
	ss, err := h.startSealstore(o, "sealstore", filepath.Join(tmp, "data"), server.Backend{})
	if err != nil {
		return rep, err
	}
	defer ss.stop()
	sides := []side{h.httpSide(ceiling, o.ids), h.httpSide(ss, o.ids)}
	if err := h.seed(sides[1]); err != nil {
		return rep, err
	}
	for r := 1; r <= o.rounds; r++ {
		w, err := h.compare(r, "write", sides)
		if err != nil {
			return rep, err
		}
		rd, err := h.compare(r, "read", sides)
		if err != nil {
			return rep, err
		}
		printTable(os.Stdout, "### reads: GET /items/{id}", rd, []string{"ceiling"}, false)
		printTable(os.Stdout, "### durable writes: POST /items/", w, []string{"ceiling"}, false)
		goals := []goal{
			ratioGoal("reads ≥ 50% of the ceiling", rd, "sealstore", "ceiling", 0.50),
			ratioGoal("durable writes ≥ 25% of the ceiling", w, "sealstore", "ceiling", 0.25),
			tailGoal("reads: p99 ≤ 3× p50", rd, "sealstore", 3),
			tailGoal("writes: p99 ≤ 3× p50", w, "sealstore", 3),
			memGoal("steady RSS of the sealstore process ≤ 100 MiB", rd, "sealstore", 100<<10),
		}
		printGoals(r, goals)
		rep.Comparisons = append(rep.Comparisons, toJSON(rd), toJSON(w))
		rep.Goals = append(rep.Goals, goals)
	}
	return rep, nil
}

func printGoals(round int, goals []goal) {
	fmt.Printf("\ntargets (round %d):\n\n", round)
	for _, g := range goals {
		fmt.Println(g)
	}
}

func printSkip(t *target) {
	fmt.Printf("skipping target %s: %s\n", t.name, t.skipReason)
}
