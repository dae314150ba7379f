package render_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sealpost/sealpost/gateway/portal/render"
)

func ExampleParse() {
	raw := strings.ReplaceAll(`From: Dr Jones <jones@clinic.example>
To: patient@example.org
Subject: =?utf-8?q?Your_r=C3=A9sults?=
Message-ID: <abc@clinic.example>
Content-Type: multipart/related; boundary=b

--b
Content-Type: text/html; charset=utf-8

<p onclick="steal()">All <b>normal</b>.<img src="cid:logo"><img src="https://tracker.example/p.gif"></p>
--b
Content-Type: image/gif
Content-ID: <logo>
Content-Transfer-Encoding: base64

R0lGODlhAQABAAAAACw=
--b--
`, "\n", "\r\n")
	v, err := render.Parse([]byte(raw), func(i int) string { return fmt.Sprintf("/m/abc/part/%d", i) })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Subject)
	fmt.Print(v.Text)
	fmt.Println(v.HTML)
	for _, p := range v.Parts {
		fmt.Println(p.Index, p.Name, p.ContentType, p.Raster, p.Inline)
	}
	// Output:
	// Your résults
	// All normal.
	// <p>All <b>normal</b>.<img src="/m/abc/part/0"> </p>
	// 0 attachment-0 image/gif true true
}

func ExampleComposeReply() {
	raw, err := render.ComposeReply(render.Reply{
		From:      "Sealpost <portal@sealpost.example>",
		ReplyTo:   "patient@example.org",
		To:        "Dr Jones <jones@clinic.example>",
		Subject:   "Your résults",
		InReplyTo: "<abc@clinic.example>",
		Text:      "Thank you.\n",
		Date:      time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC),
		MessageID: "<reply-1@sealpost.example>",
		Headers:   map[string]string{"X-Sealpost-Reply-To-Message": "<abc@clinic.example>"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.WriteString(strings.ReplaceAll(string(raw), "\r\n", "\n"))
	// Output:
	// Date: Wed, 04 Mar 2026 09:30:00 +0000
	// From: "Sealpost" <portal@sealpost.example>
	// Reply-To: <patient@example.org>
	// To: "Dr Jones" <jones@clinic.example>
	// Subject: =?utf-8?q?Re:_Your_r=C3=A9sults?=
	// Message-Id: <reply-1@sealpost.example>
	// In-Reply-To: <abc@clinic.example>
	// References: <abc@clinic.example>
	// X-Sealpost-Reply-To-Message: <abc@clinic.example>
	// Mime-Version: 1.0
	// Content-Type: text/plain; charset=utf-8
	// Content-Transfer-Encoding: quoted-printable
	//
	// Thank you.
}
