package postfixtest

import (
	"strings"
	"testing"
)

// sampleQueue is real `postqueue -j` output from Postfix 3.7: one deferred
// message and one in the incoming queue with two recipients.
const sampleQueue = `{"queue_name": "deferred", "queue_id": "7630198CC3E", "arrival_time": 1795415450, "message_size": 405, "forced_expire": false, "sender": "a@example.org", "recipients": [{"address": "b@example.net", "delay_reason": "connect to 127.0.0.1[127.0.0.1]:25999: Connection refused"}]}
{"queue_name": "incoming", "queue_id": "4F2A1198CC4", "arrival_time": 1795415451, "message_size": 512, "forced_expire": false, "sender": "", "recipients": [{"address": "c@example.net"}, {"address": "d@example.net"}]}
`

func TestParseQueue(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantIDs []string
		wantErr string
	}{
		{name: "empty queue", in: "", wantIDs: nil},
		{name: "two messages", in: sampleQueue, wantIDs: []string{"7630198CC3E", "4F2A1198CC4"}},
		{name: "truncated", in: sampleQueue[:60], wantErr: "failed to parse"},
		{name: "not JSON", in: "Mail queue is empty\n", wantErr: "failed to parse"},
		{name: "no queue id", in: `{"queue_name": "active"}`, wantErr: "without queue_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := ParseQueue([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseQueue() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range msgs {
				ids = append(ids, m.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Fatalf("IDs = %v, want %v", ids, tt.wantIDs)
			}
		})
	}

	msgs, err := ParseQueue([]byte(sampleQueue))
	if err != nil {
		t.Fatal(err)
	}
	d := msgs[0]
	if d.Queue != "deferred" || d.Size != 405 || d.Sender != "a@example.org" || d.ArrivalTime != 1795415450 ||
		len(d.Recipients) != 1 || !strings.Contains(d.Recipients[0].DelayReason, "Connection refused") {
		t.Errorf("first message parsed as %+v", d)
	}
	if i := msgs[1]; i.Sender != "" || len(i.Recipients) != 2 || i.Recipients[1].Address != "d@example.net" {
		t.Errorf("second message parsed as %+v", i)
	}
	listing := FormatQueue(msgs)
	for _, want := range []string{"7630198CC3E deferred 405 bytes", "to <b@example.net>: connect to", "from <>"} {
		if !strings.Contains(listing, want) {
			t.Errorf("FormatQueue lacks %q:\n%s", want, listing)
		}
	}
}

func FuzzParseQueue(f *testing.F) {
	f.Add([]byte(sampleQueue))
	f.Add([]byte(""))
	f.Add([]byte(`{"queue_id": "A"}{"queue_id": "B", "recipients": null}`))
	f.Add([]byte(`{"queue_id": "A", "recipients": [{"address": 1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := ParseQueue(b)
		if err != nil {
			if msgs != nil {
				t.Fatalf("ParseQueue returned messages with an error: %v", err)
			}
			return
		}
		for _, m := range msgs {
			if m.ID == "" {
				t.Fatal("ParseQueue accepted a message without a queue ID")
			}
		}
		_ = FormatQueue(msgs)
	})
}
