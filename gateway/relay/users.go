package relay

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Users are the submission clients allowed to relay after AUTH PLAIN over TLS.
type Users map[string][]byte // user → bcrypt hash

// dummyHash keeps the time of a check for an unknown user close to that of a
// known one.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("sealpost-dummy"), bcrypt.DefaultCost)
	return h
})

// LoadUsers reads "user:bcrypt-hash" lines; blank lines and # comments are
// ignored.
func LoadUsers(path string) (Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open users file: %w", err)
	}
	defer f.Close()
	u := Users{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("users file line %d: want user:bcrypt-hash", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("users file line %d: not a bcrypt hash", n)
		}
		u[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("failed to read users file: %w", err)
	}
	return u, nil
}

// Check reports whether the password is right for the user.
func (u Users) Check(user, password string) bool {
	hash, ok := u[user]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}
