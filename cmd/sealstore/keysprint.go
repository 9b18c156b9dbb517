package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sealstore/sealstore/internal/records"
)

func printStatus(w io.Writer, st records.KeyStatus) {
	if st.Shredded != nil {
		fmt.Fprintf(w, "collection %s: SHREDDED at %s: %s; %s %s stored, unreadable\n",
			st.Collection, st.Shredded.Time.Format(time.RFC3339), st.Shredded.Detail(), plural(st.Items, "record"), agree(st.Items, "remains", "remain"))
		return
	}
	if st.ShredIncomplete {
		fmt.Fprintf(w, "collection %s: a SHRED BEGAN AND DID NOT FINISH: its records are refused, but keys may remain; run 'sealstore keys shred %s --confirm %s' again\n",
			st.Collection, st.Collection, st.Collection)
		return
	}
	fmt.Fprintf(w, "collection %s: branch key %s, active version %d, minimum decryptable version %d, %s",
		st.Collection, st.BranchKeyID, st.ActiveVersion, st.MinDecryptableVersion, plural(st.Items, "record"))
	if st.OtherItems > 0 {
		fmt.Fprintf(w, " (%d under no known version)", st.OtherItems)
	}
	fmt.Fprintln(w)
	if st.RotationPeriod != "" {
		fmt.Fprintf(w, "automatic rotation every %s", st.RotationPeriod)
		if st.NextRotation != nil {
			fmt.Fprintf(w, ", next at %s", st.NextRotation.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tID\tCREATED\tSTATE\tRECORDS")
	for _, v := range st.Versions {
		state := "decryptable"
		switch {
		case v.Active:
			state = "active"
		case v.Retired:
			state = "retired"
		case v.Activated == nil:
			state = "never activated"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", v.Version, v.ID, v.Created.Format(time.RFC3339), state, v.Items)
	}
	tw.Flush()
}
