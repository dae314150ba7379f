package seal

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestFindSealedAttachment(t *testing.T) {
	ctSum := sha256.Sum256([]byte("ciphertext"))
	tests := []struct {
		name    string
		msg     string
		want    []byte // nil: not found
		wantErr error
	}{
		{
			name: "plain message",
			msg:  "From: a\r\nSubject: hi\r\n\r\nhello\r\n",
		},
		{
			name: "other attachment",
			msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
				"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"letter.pdf\"\r\n\r\nxx\r\n--b--\r\n",
		},
		{
			name: "named by Content-Type name only",
			msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
				"Content-Type: application/octet-stream; name=\"message.eml.age\"\r\nContent-Transfer-Encoding: base64\r\n\r\nY2lwaGVy\r\ndGV4dA==\r\n--b--\r\n",
			want: ctSum[:],
		},
		{
			name: "deeply nested, RFC 2231 filename",
			msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/related; boundary=c\r\n\r\n--c\r\n" +
				"Content-Disposition: attachment; filename*=utf-8''message.eml.age\r\n\r\nciphertext\r\n--c--\r\n--b--\r\n",
			want: ctSum[:],
		},
		{
			name: "whole message is the attachment",
			msg:  "Content-Disposition: attachment; filename=message.eml.age\r\nContent-Transfer-Encoding: base64\r\n\r\nY2lwaGVydGV4dA==\r\n",
			want: ctSum[:],
		},
		{
			name: "similar name",
			msg:  "Content-Disposition: attachment; filename=message.eml.age.pdf\r\n\r\nciphertext",
		},
		{
			name: "inside a forwarded message is not ours",
			msg:  "Content-Type: message/rfc822\r\n\r\nContent-Disposition: attachment; filename=message.eml.age\r\n\r\nciphertext",
		},
		{
			name: "unknown encoding elsewhere is fine",
			msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: x-weird\r\n\r\nhi\r\n" +
				"--b\r\nContent-Disposition: attachment; filename=message.eml.age\r\n\r\nciphertext\r\n--b--\r\n",
			want: ctSum[:],
		},
		{
			name:    "unknown encoding on the attachment",
			msg:     "Content-Disposition: attachment; filename=message.eml.age\r\nContent-Transfer-Encoding: x-weird\r\n\r\nciphertext",
			wantErr: errAny,
		},
		{
			name: "two attachments",
			msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Disposition: attachment; filename=message.eml.age\r\n\r\na\r\n" +
				"--b\r\nContent-Disposition: attachment; filename=message.eml.age\r\n\r\nb\r\n--b--\r\n",
			wantErr: ErrDuplicateAttachment,
		},
		{
			name: "nesting at the limit",
			msg:  nested(MaxFindDepth),
		},
		{
			name:    "too deep",
			msg:     nested(MaxFindDepth + 2),
			wantErr: ErrTooComplex,
		},
		{
			name:    "too many parts",
			msg:     "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", MaxFindParts+1) + "--b--\r\n",
			wantErr: ErrTooComplex,
		},
		{
			name:    "malformed header",
			msg:     " bad\r\n\r\n",
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, found, err := FindSealedAttachment(strings.NewReader(tt.msg))
			switch {
			case tt.wantErr == errAny:
				if err == nil {
					t.Fatalf("FindSealedAttachment = %x, %v, nil; want an error", sum, found)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FindSealedAttachment error = %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("FindSealedAttachment: %v", err)
			}
			if found != (tt.want != nil) || !bytes.Equal(sum, tt.want) {
				t.Errorf("FindSealedAttachment = %x, %v; want %x", sum, found, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

// nested returns a message with n levels of multipart nesting.
func nested(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("\r\nx\r\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

func FuzzFindSealedAttachment(f *testing.F) {
	sum := sha256.Sum256(nil)
	var env bytes.Buffer
	if err := WriteEnvelope(&env, testEnvelope(f, "From: a\r\n\r\n", sum[:]), strings.NewReader("ciphertext")); err != nil {
		f.Fatal(err)
	}
	f.Add(env.Bytes())
	f.Add([]byte("Content-Disposition: attachment; filename=message.eml.age\r\nContent-Transfer-Encoding: base64\r\n\r\nY2lwaGVydGV4dA==\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\n--c--\r\n--b--\r\n"))
	f.Add([]byte("From: a\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		sum, found, err := FindSealedAttachment(bytes.NewReader(msg))
		if err != nil {
			if found || sum != nil {
				t.Fatal("error with a result")
			}
			return
		}
		if found != (len(sum) == sha256.Size) {
			t.Fatalf("found %v with hash %x", found, sum)
		}
		// Deterministic.
		sum2, found2, err2 := FindSealedAttachment(bytes.NewReader(msg))
		if err2 != nil || found2 != found || !bytes.Equal(sum, sum2) {
			t.Fatal("second run differs")
		}
	})
}
