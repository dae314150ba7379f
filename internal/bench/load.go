package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// load is one batch of messages sent to one SMTP address.
type load struct {
	addr string
	tmpl *template
	n    int    // messages
	conc int    // client connections at once
	tag  string // makes Message-IDs unique across batches
	// each, if set, is called after every accepted message with its index
	// and its end-of-DATA-to-250 time. With conc 1 it runs before the next
	// message starts, so it may read the server's metrics for that message
	// alone.
	each func(i int, lat time.Duration) error
}

// loadResult is what a batch measured.
type loadResult struct {
	start    time.Time
	done     time.Time       // the last reply
	lat      []time.Duration // end of DATA to 250, per accepted message
	accepted int
	failed   int
	firstErr error
}

// run sends the batch and returns when every message has a reply.
func (l load) run(ctx context.Context) loadResult {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  = loadResult{lat: make([]time.Duration, 0, l.n)}
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		res.failed++
		if res.firstErr == nil {
			res.firstErr = err
		}
	}
	res.start = time.Now()
	for range min(l.conc, l.n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *smtp.Client
			defer func() {
				if c != nil {
					_ = c.Quit()
				}
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= l.n {
					return
				}
				if c == nil {
					var err error
					if c, err = dial(l.addr); err != nil {
						fail(err)
						continue
					}
				}
				lat, err := l.send(c, i)
				if err != nil {
					fail(err)
					var se *smtp.SMTPError
					if errors.As(err, &se) {
						_ = c.Reset()
					} else {
						_ = c.Close()
						c = nil
					}
					continue
				}
				if l.each != nil {
					if err := l.each(i, lat); err != nil {
						fail(err)
						continue
					}
				}
				mu.Lock()
				res.lat = append(res.lat, lat)
				res.accepted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.done = time.Now()
	return res
}

func dial(addr string) (*smtp.Client, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to %s: %w", addr, err)
	}
	c.SubmissionTimeout = 5 * time.Minute
	if err := c.Hello("bench.localhost"); err != nil {
		c.Close()
		return nil, fmt.Errorf("failed to greet %s: %w", addr, err)
	}
	return c, nil
}

// send sends message i and returns the time from the end of DATA (the
// final dot, with whatever the client still had buffered) to the reply.
func (l load) send(c *smtp.Client, i int) (time.Duration, error) {
	if err := c.Mail(benchFrom, nil); err != nil {
		return 0, fmt.Errorf("MAIL: %w", err)
	}
	if err := c.Rcpt(benchTo, nil); err != nil {
		return 0, fmt.Errorf("RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return 0, fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(l.tmpl.header(l.tag+"-"+strconv.Itoa(i), time.Now())); err != nil {
		return 0, fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(l.tmpl.body); err != nil {
		return 0, fmt.Errorf("DATA: %w", err)
	}
	t0 := time.Now()
	if _, err := w.CloseWithResponse(); err != nil {
		return 0, fmt.Errorf("end of DATA: %w", err)
	}
	return time.Since(t0), nil
}
