package relay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestUsersFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	must(t, err)
	dir := t.TempDir()
	good := filepath.Join(dir, "users")
	must(t, os.WriteFile(good, []byte("# submission clients\n\nscanner:"+string(hash)+"\n"), 0o600))
	u, err := LoadUsers(good)
	must(t, err)
	if !u.Check("scanner", "s3cret") {
		t.Error("right password refused")
	}
	if u.Check("scanner", "wrong") || u.Check("nobody", "s3cret") || u.Check("", "") {
		t.Error("wrong credentials accepted")
	}
	for name, content := range map[string]string{
		"no colon":    "scanner " + string(hash) + "\n",
		"not bcrypt":  "scanner:plaintext\n",
		"empty user":  ":" + string(hash) + "\n",
		"second line": "a:" + string(hash) + "\nbroken\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		must(t, os.WriteFile(p, []byte(content), 0o600))
		if _, err := LoadUsers(p); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "plaintext") || strings.Contains(err.Error(), string(hash)) {
			t.Errorf("%s: error echoes file content: %v", name, err)
		}
	}
}

// FuzzLoadUsers: any file either loads or is refused with an error; it never
// panics, and a loaded file never lets an empty password in.
func FuzzLoadUsers(f *testing.F) {
	f.Add([]byte("a:$2a$04$C3KpYgYQ5Ri9UR4PLBrFbeJ3/4Vh7p6n1wmJ1mJvS9FbWQm1gLhTq\n"))
	f.Add([]byte("# c\n\nx:y\n"))
	f.Add([]byte(":\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "users")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		u, err := LoadUsers(p)
		if err != nil {
			return
		}
		for name := range u {
			if name == "" {
				t.Fatal("empty user name loaded")
			}
		}
	})
}
