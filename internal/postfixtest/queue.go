package postfixtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// QueuedMessage is one message in a `postqueue -j` listing.
type QueuedMessage struct {
	// Queue is the queue holding the message: maildrop, incoming, active,
	// deferred or hold.
	Queue string `json:"queue_name"`
	// ID is the Postfix queue ID.
	ID string `json:"queue_id"`
	// ArrivalTime is when Postfix accepted the message, in Unix seconds.
	ArrivalTime int64 `json:"arrival_time"`
	// Size is the queue file size in bytes.
	Size int64 `json:"message_size"`
	// Sender is the envelope sender, empty for the null sender.
	Sender string `json:"sender"`
	// Recipients are the recipients not yet delivered.
	Recipients []QueuedRecipient `json:"recipients"`
}

// QueuedRecipient is a recipient still waiting for delivery.
type QueuedRecipient struct {
	// Address is the envelope recipient.
	Address string `json:"address"`
	// DelayReason is why the last attempt failed, empty before the first.
	DelayReason string `json:"delay_reason,omitempty"`
}

// ParseQueue parses `postqueue -j` output: one JSON object per message.
// Empty output is an empty queue.
func ParseQueue(b []byte) ([]QueuedMessage, error) {
	var msgs []QueuedMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var m QueuedMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return msgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("failed to parse postqueue -j output: %w", err)
		}
		if m.ID == "" {
			return nil, errors.New("failed to parse postqueue -j output: a message without queue_id")
		}
		msgs = append(msgs, m)
	}
}

// FormatQueue renders a listing for test failure messages, one line per
// recipient.
func FormatQueue(msgs []QueuedMessage) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%s %s %d bytes, arrived %s, from <%s>\n", m.ID, m.Queue, m.Size,
			time.Unix(m.ArrivalTime, 0).UTC().Format(time.RFC3339), m.Sender)
		for _, r := range m.Recipients {
			fmt.Fprintf(&b, "    to <%s>", r.Address)
			if r.DelayReason != "" {
				fmt.Fprintf(&b, ": %s", r.DelayReason)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}
