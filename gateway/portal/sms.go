package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// sendSMS posts {"to", "text"} to the SMS webhook (see SMSConfig). Any 2xx
// answer is success. Neither the number nor the text is ever logged.
func (s *Server) sendSMS(ctx context.Context, to, text string) error {
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{to, text})
	if err != nil {
		return fmt.Errorf("failed to encode SMS: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SMS.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.SMS.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("failed to build SMS request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.SMS.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.SMS.Token)
	}
	res, err := s.auth.smsClient.Do(req)
	if err != nil {
		// The error names the webhook URL, never the number or text.
		return fmt.Errorf("failed to send SMS: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("failed to send SMS: webhook answered %s", res.Status)
	}
	return nil
}

// smsText is the text of an SMS code: the organisation and the code,
// nothing about any message.
func (s *Server) smsText(code string) string {
	return tr("sms.code", s.cfg.Branding.Name, code)
}

// phoneTail returns the last two digits of a phone number, for "the phone
// ending in NN".
func phoneTail(phone string) string {
	var digits []byte
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) < 2 {
		return ""
	}
	return string(digits[len(digits)-2:])
}
