package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// screenshotName is what a screenshot may be called: a file name, no path.
var screenshotName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Screenshot writes a full-page PNG of the current page to
// <repo root>/var/screenshots/<name>.png and returns its path. The name is
// letters, digits, '.', '_' and '-'.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	if !screenshotName.MatchString(name) {
		b.t.Fatalf("browser: screenshot name %q is not a plain file name", name)
	}
	png := run(b, "take a screenshot", chromedp.FullScreenshot(100))
	root, err := repoRoot()
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	dir := filepath.Join(root, "var", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatalf("browser: failed to create %s: %v", dir, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("browser: failed to write the screenshot: %v", err)
	}
	return path
}

// allowDownloads makes Chromium save the downloads of the test's browser
// context in b.downloads, each under its download GUID, and report them as
// browser events.
func (b *Browser) allowDownloads() error {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	events := true
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorAllowAndName,
		BrowserContextID: chromedp.FromContext(b.ctx).BrowserContextID,
		DownloadPath:     b.downloads,
		EventsEnabled:    &events,
	})
	if err != nil {
		return fmt.Errorf("failed to set the download directory: %w", err)
	}
	return nil
}

// Download runs trigger, which must start exactly one download (click a link
// or a button, or set location.href to an attachment URL), waits until the
// download completes, and returns its bytes and the file name that the
// browser suggested (from Content-Disposition, or else the URL).
func (b *Browser) Download(trigger func()) (data []byte, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	// The browser's events come from every test's tab: keep those of this
	// tab's frames.
	frames := b.frameIDs(ctx)
	// Subscribe before the trigger so that no event is missed.
	begin := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	trigger()

	var guid string
	for ev, err := range begin {
		if err != nil {
			b.t.Fatalf("browser: no download started: %v", err)
		}
		if frames[ev.FrameID] {
			guid, name = ev.GUID, ev.SuggestedFilename
			break
		}
	}
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("browser: download of %q did not complete: %v", name, err)
		}
		if ev.GUID != guid {
			continue
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			data, err := os.ReadFile(filepath.Join(b.downloads, guid))
			if err != nil {
				b.t.Fatalf("browser: failed to read the download of %q: %v", name, err)
			}
			return data, name
		case browser.DownloadProgressStateCanceled:
			b.t.Fatalf("browser: download of %q was canceled", name)
		}
	}
	b.t.Fatalf("browser: download of %q did not complete", name)
	return nil, ""
}

// frameIDs returns the ids of the frames of the tab.
func (b *Browser) frameIDs(ctx context.Context) map[cdp.FrameID]bool {
	b.t.Helper()
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		b.t.Fatalf("browser: failed to list the frames: %v", err)
	}
	ids := map[cdp.FrameID]bool{}
	var walk func(*page.FrameTree)
	walk = func(t *page.FrameTree) {
		ids[t.Frame.ID] = true
		for _, c := range t.ChildFrames {
			walk(c)
		}
	}
	walk(tree.FrameTree)
	return ids
}
