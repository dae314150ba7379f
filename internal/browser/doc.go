// Package browser is the headless-Chromium harness for Sealpost's end-to-end
// tests of the recipient portal.
//
// Each test gets from [Start] a fresh browser context of one headless
// Chromium that the test binary shares: one tab, cookies and storage that no
// other test sees, its own download directory and its own WebAuthn virtual
// authenticators, all closed when the test ends. Every helper fails the test
// on error, so a test reads as the steps a person would take:
//
//	b := browser.Start(t)
//	b.Navigate(portalURL)
//	b.Fill("#code", "123456")
//	b.ClickNavigate("button[type=submit]")
//	b.WaitText("Your letter")
//	b.CheckAccessibility(t, "letter")
//	b.Screenshot("letter-desktop")
//
// # Chromium
//
// The harness drives the Debian package chromium (/usr/bin/chromium, or the
// chromium on PATH). When it is missing, [Start] fails the test and names the
// package and `make deps`. Tests never skip for a missing browser.
//
// WebAuthn refuses IP-address origins, so load pages as http://localhost:PORT
// even when the server listens on 127.0.0.1. [LocalURL] rewrites an
// httptest URL that way.
//
// # Accessibility
//
// [Browser.Axe] injects axe-core into the page and each of its same-origin
// frames and runs the WCAG 2.0, 2.1 and 2.2 A and AA rules.
// [Browser.CheckAccessibility] also fails the test for each violation of
// impact serious or critical. axe-core is a pinned npm release that
// scripts/axe.sh keeps in the user cache (fetched once with `npm pack`).
//
// # Hostile content
//
// [Browser.ConsoleMessages] and [Browser.Exceptions] return what the page wrote
// to the console and the exceptions it threw, in the top document and in its
// same-process frames. [Browser.Eval] reads window state, so a test can show
// that a hostile message's script did not set window.top.pwned. A script in
// a frame that Chromium puts in another process (a cross-site or, depending on
// the Chromium version, an opaque-origin sandboxed frame) reports its console
// and its requests elsewhere: assert on the server side (for example that
// nobody requested /pwned) as well.
//
// Chromium asks every origin for /favicon.ico; a 404 there shows in
// [Browser.ConsoleErrors] as a failed load, so a server under test should
// answer it (or its pages link an icon).
package browser
