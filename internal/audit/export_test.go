package audit

import "context"

// AppendBatch queues es at once, so that the writer stores them as one
// batch (MaxBatch and the size budget permitting), and waits for them all.
// Tests use it to build logs whose batch boundaries they know.
func (l *Log) AppendBatch(ctx context.Context, es []Entry) error {
	if _, err := l.keySet(ctx); err != nil {
		return err
	}
	rs := make([]*request, len(es))
	for i := range es {
		if err := es[i].prepare(l.now); err != nil {
			return err
		}
		rs[i] = newRequest(&es[i])
	}
	if err := l.enqueue(rs...); err != nil {
		return err
	}
	var first error
	for _, r := range rs {
		if err := <-r.done; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Pending returns the number of entries waiting for the writer.
func (l *Log) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}
