package classify_test

import (
	"bufio"
	"bytes"
)

type bufioR = bufio.Reader

func newBufio(raw []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(raw)) }
