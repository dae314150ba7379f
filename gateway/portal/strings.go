package portal

import "fmt"

// text holds every string the portal shows, in one place for translation.
// Keys are grouped by page. Values are fmt formats when a page passes
// arguments.
var text = map[string]string{
	"brand.product": "Secure messages",
	"nav.skip":      "Skip to content",
	"nav.signedin":  "Signed in as",
	"nav.logout":    "Sign out",
	"nav.home":      "Back to the start page",
	"foot.text":     "%s uses Sealpost to protect your messages. We never send message content by email.",

	"title.error":    "Something went wrong",
	"err.internal":   "Something went wrong on our side. Please try again in a few minutes.",
	"err.forbidden":  "This request was refused. Please go back, reload the page and try again.",
	"err.notfound":   "We could not find that page.",
	"err.ratelimit":  "Too many attempts. Please wait a few minutes and try again.",
	"err.badrequest": "That request was not valid. Please go back and try again.",
}

// tr returns text[key] formatted with args; an unknown key returns the key
// itself so a missing string is visible, never an empty label.
func tr(key string, args ...any) string {
	s, ok := text[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}
