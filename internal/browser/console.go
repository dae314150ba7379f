package browser

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// barrierPrefix marks the console messages that [Browser.sync] writes to know
// that every earlier message has been collected. They are never stored.
const barrierPrefix = "sealpost-browser-barrier-"

// consoleLog collects the console messages and exceptions of a tab.
type consoleLog struct {
	mu      sync.Mutex
	msgs    []chromedp.ConsoleMessage
	seen    map[string]bool // barrier tokens that came through
	changed chan struct{}   // closed at each new message or token
	next    int             // the number of the next barrier token
}

// watchConsole subscribes to the console of the tab and collects its
// messages until ctx ends.
func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{seen: map[string]bool{}, changed: make(chan struct{})}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.add(m)
		}
	}()
	return c
}

func (c *consoleLog) add(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Type == chromedp.ConsoleDebug && strings.HasPrefix(m.Text, barrierPrefix) {
		c.seen[m.Text] = true
	} else {
		c.msgs = append(c.msgs, m)
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// sync writes a marker to the page's console and waits until it is
// collected. The browser sends the events of a tab in order, so every message
// that the page wrote before has been collected too.
func (b *Browser) sync() {
	b.t.Helper()
	c := b.console
	c.mu.Lock()
	token := fmt.Sprintf("%s%d", barrierPrefix, c.next)
	c.next++
	c.mu.Unlock()

	b.do("write a console marker", chromedp.Evaluate[chromedp.Void](
		fmt.Sprintf("console.debug(%s)", jsString(token))))

	deadline := time.NewTimer(b.timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, changed := c.seen[token], c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			b.t.Fatalf("browser: the console marker did not arrive within %v (did the page replace console.debug?)", b.timeout)
		}
	}
}

// ConsoleMessages returns every console message of the tab so far: calls of
// the console API, uncaught exceptions and unhandled rejections, and browser
// log entries such as failed loads and Content-Security-Policy refusals. It
// covers the top document and its same-process frames, across navigations.
func (b *Browser) ConsoleMessages() []chromedp.ConsoleMessage {
	b.t.Helper()
	b.sync()
	b.console.mu.Lock()
	defer b.console.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console.msgs...)
}

// ConsoleErrors returns the console messages of type error and the
// exceptions.
func (b *Browser) ConsoleErrors() []chromedp.ConsoleMessage {
	b.t.Helper()
	var out []chromedp.ConsoleMessage
	for _, m := range b.ConsoleMessages() {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, m)
		}
	}
	return out
}

// Exceptions returns the uncaught exceptions and unhandled promise
// rejections of the tab so far.
func (b *Browser) Exceptions() []chromedp.ConsoleMessage {
	b.t.Helper()
	var out []chromedp.ConsoleMessage
	for _, m := range b.ConsoleMessages() {
		if m.IsException() {
			out = append(out, m)
		}
	}
	return out
}
