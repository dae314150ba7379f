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

	"title.error":     "Something went wrong",
	"err.internal":    "Something went wrong on our side. Please try again in a few minutes.",
	"err.forbidden":   "This request was refused. Please go back, reload the page and try again.",
	"err.notfound":    "We could not find that page.",
	"err.ratelimit":   "Too many attempts. Please wait a few minutes and try again.",
	"err.badrequest":  "That request was not valid. Please go back and try again.",
	"err.unavailable": "We cannot open messages at the moment. Please try again in a few minutes.",
	"err.novault":     "The secure message service is not available at the moment. Please try again later, or contact the sender.",

	// Sizes (read.go formatSize).
	"size.bytes": "%d bytes",
	"size.kb":    "%.0f KB",
	"size.mb":    "%.1f MB",

	// Inbox (inbox.html).
	"title.inbox":           "Your secure messages",
	"inbox.heading":         "Your secure messages",
	"inbox.intro":           "Messages sent to you securely, newest first. Open one to read it.",
	"inbox.caption":         "Secure messages, newest first",
	"inbox.col.received":    "Received",
	"inbox.col.from":        "From",
	"inbox.col.status":      "Message",
	"inbox.open":            "Open",
	"inbox.open.sr":         "the message from %s, received %s",
	"inbox.nosender":        "(no sender address)",
	"inbox.state.available": "Available",
	"inbox.state.recalled":  "Withdrawn by the sender",
	"inbox.state.expired":   "Expired",
	"inbox.empty":           "There are no secure messages for you yet.",
	"inbox.pages":           "Pages",
	"inbox.page":            "Page %d",
	"inbox.newer":           "Newer messages",
	"inbox.older":           "Older messages",

	// Message (message.html).
	"title.message":       "Secure message",
	"message.nosubject":   "(no subject)",
	"message.from":        "From",
	"message.to":          "To",
	"message.cc":          "Cc",
	"message.date":        "Date",
	"message.reply":       "Reply securely",
	"message.body":        "Message",
	"message.frame":       "The message's formatted text",
	"message.plain":       "Show the message as plain text",
	"message.empty":       "This message has no text.",
	"message.incomplete":  "Part of this message could not be displayed. Its attachments are listed below.",
	"message.attachments": "Attachments",
	"message.download":    "Download",
	"message.back":        "Back to your messages",
	"message.low.label":   "Lower assurance.",
	"message.low.text":    "The sender chose to let this message be opened with access to your email account alone, without a second check.",

	// Recalled, expired and not found.
	"title.recalled":   "Message withdrawn",
	"recalled.heading": "This message was withdrawn",
	"recalled.text":    "The sender has withdrawn this message, so it can no longer be opened.",
	"title.expired":    "Message expired",
	"expired.heading":  "This message has expired",
	"expired.text":     "Messages can be read for a limited time only, and this one can no longer be opened.",
	"gone.contact":     "If you still need it, please contact the sender:",
	"title.notfound":   "Message not found",
	"notfound.heading": "We could not find that message",
	"notfound.text":    "Check that you are signed in with the email address the message was sent to, and that the link is complete.",

	// Reply (reply.html, sent.html).
	"title.reply":      "Reply securely",
	"reply.heading":    "Reply securely",
	"reply.intro":      "Your reply and any files you attach go to the sender through the secure service.",
	"reply.to":         "To",
	"reply.subject":    "Subject",
	"reply.text":       "Your reply",
	"reply.files":      "Attach files (optional)",
	"reply.files.hint": "You can choose several files. Up to %s in total.",
	"reply.send":       "Send reply",
	"reply.cancel":     "Cancel",
	"reply.empty":      "Please write a reply or attach a file.",
	"reply.invalid":    "Your reply could not be prepared. Please check the file names and try again.",
	"reply.failed":     "Your reply could not be sent just now. Please try again in a few minutes.",
	"reply.toolarge":   "Your reply and its files are too large to send. Please send fewer or smaller files.",
	"reply.nosender":   "This message has no sender address, so it cannot be answered here.",
	"title.sent":       "Reply sent",
	"sent.heading":     "Your reply was sent",
	"sent.text":        "Your reply went securely to",
	"sent.back":        "Back to the message",

	// Read receipt (receipt.go): never the subject or content.
	"receipt.subject": "Read receipt",
	"receipt.body":    "The secure message %s was opened by %s on %s.\n\nThis is an automatic notice. It does not contain the message.",
	// Start (start.html): the signed-out page.
	"title.start":  "Open your secure messages",
	"start.intro":  "To open your secure messages, first tell us your email address: the one the message was sent to.",
	"start.email":  "Email address",
	"start.submit": "Continue",
	"start.help":   "If you have signed in here before, we will ask for your passkey or password. If not, we will email you a code to confirm the address is yours.",
	"err.email":    "Enter an email address in the form name@example.com.",
	"err.flow":     "Your sign-in took too long or was interrupted. Please enter your email address again.",

	// Mailbox code (code.html).
	"title.code":     "Check your email",
	"code.intro":     "If %s has secure messages waiting, we have just emailed it an 8-digit code.",
	"code.expires":   "The code works for %d minutes. It can take a minute or two to arrive; check your junk folder too.",
	"code.label":     "8-digit code from the email",
	"code.submit":    "Confirm",
	"code.restart":   "Start again with another address or a new code",
	"err.code.wrong": "That code is not right. Check the email and try again.",
	"err.code.dead":  "That code can no longer be used. Please start again to get a new code.",

	// Out-of-band factor (oob.html) and step-up (stepup.html).
	"title.oob":           "One more check",
	"oob.intro":           "The sender asked us to check who you are in a second way, outside your email, before you set up your sign-in.",
	"title.stepup":        "One more check for this message",
	"stepup.intro":        "The sender asked for a second check, outside your email, before this message can be opened. You only need to do this once.",
	"oob.sms.heading":     "Get a code by text message",
	"oob.sms.send":        "Send a code by SMS to the phone ending in %s",
	"oob.sms.sent":        "We have sent a 6-digit code to the phone ending in %s.",
	"oob.sms.label":       "6-digit code from the text message",
	"oob.sms.submit":      "Confirm the code",
	"oob.sms.resend":      "Send another code",
	"oob.code.heading":    "Enter the enrolment code",
	"oob.code.help":       "The sender may have given you a 12-character enrolment code, by phone, letter or in person. It looks like ABCD-EFGH-JKMN.",
	"oob.code.label":      "Enrolment code",
	"oob.code.submit":     "Confirm the enrolment code",
	"err.sms.send":        "We could not send the text message. Please try again in a few minutes.",
	"err.enrolcode.wrong": "That enrolment code is not right. Check it with the sender and try again.",
	"title.contact":       "Please contact the sender",
	"contact.text":        "We cannot complete the second check for this message online. Please contact the person or team who sent it: they can give you an enrolment code or send the message another way.",

	// Choosing an authenticator (method.html, passkey.html, password.html).
	"title.method":          "Set up how you sign in",
	"method.intro":          "Next time you will sign in with what you set up now. Choose one:",
	"method.lower.label":    "Lower assurance.",
	"method.lower.text":     "You proved only that you can read email sent to %s. The sender allowed this for the message, but it is a lower level of assurance: messages that need more will ask for a second check.",
	"method.passkey":        "Use a passkey (recommended)",
	"method.passkey.help":   "Sign in with your fingerprint, face, screen lock or security key. Nothing to remember, and it cannot be phished.",
	"method.password":       "Use a password and an authenticator app",
	"method.password.help":  "Choose a password and add a code generator app, such as one on your phone.",
	"title.passkey":         "Create a passkey",
	"passkey.intro":         "Your device will ask you to confirm with your fingerprint, face, screen lock or security key.",
	"passkey.create":        "Create a passkey",
	"passkey.signin":        "Sign in with a passkey",
	"passkey.noscript":      "Passkeys need JavaScript. Turn it on, or go back and choose a password instead.",
	"passkey.working":       "Follow the instructions from your device or browser…",
	"passkey.unsupported":   "This browser cannot use passkeys. Please go back and choose a password instead.",
	"passkey.cancelled":     "The passkey request was cancelled or timed out. You can try again.",
	"passkey.other":         "Use a password instead",
	"err.passkey.register":  "We could not register that passkey. Please try again, or choose a password instead.",
	"err.passkey.login":     "That passkey was not accepted. Please try again.",
	"err.passkey.none":      "This account has no passkey.",
	"err.locked":            "Too many failed attempts. This account is locked for a while.",
	"title.password":        "Choose a password",
	"password.intro":        "Choose a password of at least 12 characters that you do not use anywhere else. A few unrelated words work well.",
	"password.label":        "New password",
	"password.help":         "At least 12 characters. It must not contain your email address.",
	"password.confirm":      "New password again",
	"password.submit":       "Continue",
	"err.password.short":    "The password is too short: use at least 12 characters.",
	"err.password.long":     "The password is too long: use at most 256 characters.",
	"err.password.address":  "The password must not contain your email address.",
	"err.password.mismatch": "The two passwords do not match.",
	"err.password.invalid":  "The password holds characters we cannot accept.",
	"title.totp":            "Add an authenticator app",
	"totp.intro":            "Open your authenticator app and scan this QR code, or type in the key below. Then enter the 6-digit code the app shows.",
	"totp.qr.alt":           "QR code for your authenticator app",
	"totp.secret":           "Key to type in instead",
	"totp.open":             "Or open this link on the device that has the app",
	"totp.code.label":       "6-digit code from the app",
	"totp.submit":           "Finish",
	"err.totp.wrong":        "That code is not right. Check the time on your device and enter the code the app shows now.",

	// Login (login.html) and locked (locked.html).
	"title.login":          "Sign in",
	"login.intro":          "Sign in as %s.",
	"login.password.label": "Password",
	"login.code.label":     "6-digit code from your authenticator app",
	"login.submit":         "Sign in",
	"login.other":          "Not you? Start again with another address",
	"err.login.wrong":      "The password or the code is not right. Please try again.",
	"title.locked":         "Account locked",
	"locked.text":          "There were too many failed attempts, so this account is locked for about %d minutes. Please try again later. If you did not try to sign in, contact the sender.",

	// The mailbox code email and the SMS code.
	"mail.code.subject": "Your %s sign-in code",
	"mail.code.body":    "Your code for %s secure messages is:\n\n    %s\n\nIt works for %d minutes. If you did not ask for it, you can ignore this email.\n\nThis email contains no message content.",
	"sms.code":          "%s code: %s",
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
