package relay

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/spool"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/internal/failpoint"
	"github.com/sealpost/sealpost/keys"
	"github.com/sealpost/sealpost/policy"
)

// txn is one received message and its envelope.
type txn struct {
	trace  string
	from   string
	rcpts  []string
	body   smtp.BodyType
	utf8   bool
	helo   string
	remote netip.Addr
	tls    bool
	user   string
	lmtp   bool
	buf    *spool.Buffer
}

// group is a set of recipients with the same outcome and next hop.
type group struct {
	action  policy.Action
	rcpts   []int // indexes into txn.rcpts
	outcome policy.Outcome
}

// process runs the transaction and returns one result per recipient; nil
// means the next hop accepted that recipient's copy.
func (r *Relay) process(ctx context.Context, t *txn) []*smtp.SMTPError {
	start := time.Now()
	res := make([]*smtp.SMTPError, len(t.rcpts))
	fill := func(e *smtp.SMTPError) []*smtp.SMTPError {
		for i := range res {
			if res[i] == nil {
				res[i] = e
			}
		}
		return res
	}
	defer func() { r.m.processSeconds.Observe(time.Since(start).Seconds()) }()

	failpoint.Hit(failpoint.AfterSpool)
	hdr, err := readHeader(t.buf)
	if err != nil {
		r.m.messages.WithLabelValues("malformed").Inc()
		// Not the error: go-message quotes the offending header line, which
		// may be the message's own text.
		r.log.Info("message refused: header cannot be parsed", "trace", t.trace, "decision", "malformed")
		r.auditf(ctx, t, "", "refuse", map[string]string{"reason": "malformed header"})
		return fill(reply(replyTxFailed, codeMedia, "Message header could not be parsed", t.trace))
	}

	// Recipients the ledger already records as delivered for this exact
	// message are answered from the ledger.
	owed := make([]bool, len(t.rcpts))
	nOwed := 0
	msgHash := t.buf.SHA256()
	for i, rc := range t.rcpts {
		done, err := r.deps.Store.LedgerDelivered(ctx, ledgerKey(msgHash, rc))
		if err != nil {
			r.log.Error("ledger lookup failed", "trace", t.trace, "err", err)
			return fill(tempFailure(t.trace))
		}
		owed[i] = !done
		if !done {
			nOwed++
		}
	}
	if nOwed == 0 {
		r.m.messages.WithLabelValues("duplicate").Inc()
		r.log.Info("message already delivered", "trace", t.trace, "decision", "duplicate")
		return res
	}

	vaultUp := r.vaultUp.Load()
	if !vaultUp && !r.opt.PassWhenVaultDown {
		r.m.vaultDeferred.Inc()
		r.log.Warn("message deferred: vault unavailable", "trace", t.trace, "decision", "defer")
		r.auditf(ctx, t, "", "defer", map[string]string{"reason": "vault unavailable"})
		return fill(tempFailure(t.trace))
	}

	var groups []*group
	var dec *policy.Decision
	if r.alreadySealed(ctx, t, hdr) {
		g := &group{action: policy.ActionPass, outcome: policy.Outcome{Rule: "already-sealed"}}
		for i := range t.rcpts {
			if owed[i] {
				g.rcpts = append(g.rcpts, i)
			}
		}
		groups = []*group{g}
		r.log.Info("message already sealed", "trace", t.trace, "decision", "pass", "rule", "already-sealed")
	} else {
		dec, groups, err = r.decide(ctx, t, hdr, owed)
		if err != nil {
			// The error may come from parsing the message; it is not logged.
			r.log.Error("classification failed", "trace", t.trace, "decision", "defer")
			r.auditf(ctx, t, "", "defer", map[string]string{"reason": "classification failed"})
			return fill(tempFailure(t.trace))
		}
	}

	for _, g := range groups {
		var out []*smtp.SMTPError
		switch g.action {
		case policy.ActionReject:
			text := sanitizeReplyText(g.outcome.RejectText)
			r.auditf(ctx, t, "", "reject", map[string]string{"rule": g.outcome.Rule, "recipients": strconv.Itoa(len(g.rcpts))})
			out = repeat(reply(replyRejected, codeNotAuthorized, text, t.trace), len(g.rcpts))
		case policy.ActionSeal, policy.ActionSealDirect:
			if !vaultUp {
				r.m.vaultDeferred.Inc()
				out = repeat(tempFailure(t.trace), len(g.rcpts))
				break
			}
			out = r.sealAndDeliver(ctx, t, hdr, dec, g)
		case policy.ActionRequireTLS:
			if r.deps.TLSHop == nil {
				r.log.Error("require-tls outcome but no tls_next_hop configured", "trace", t.trace)
				out = repeat(tempNextHop(t.trace), len(g.rcpts))
				break
			}
			out = r.forward(ctx, t, g, r.deps.TLSHop)
		default:
			out = r.forward(ctx, t, g, r.deps.NextHop)
		}
		for k, i := range g.rcpts {
			res[i] = out[k]
		}
		r.log.Info("message processed", "trace", t.trace, "decision", string(g.action),
			"rule", g.outcome.Rule, "recipients", len(g.rcpts), "delivered", countNil(out))
	}
	return res
}

// decide asks policy what happens to each owed recipient and groups them.
func (r *Relay) decide(ctx context.Context, t *txn, hdr textproto.Header, owed []bool) (*policy.Decision, []*group, error) {
	var idx []int
	var rcpts []string
	for i, rc := range t.rcpts {
		if owed[i] {
			idx = append(idx, i)
			rcpts = append(rcpts, rc)
		}
	}
	in := &policy.Input{
		Sender:        t.from,
		Recipients:    rcpts,
		Header:        hdr,
		Open:          t.buf.Open,
		Size:          t.buf.Size(),
		TLS:           t.tls,
		Authenticated: t.user != "",
	}
	dec, err := r.deps.Policy.Engine().Decide(ctx, in)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to classify: %w", err)
	}
	if len(dec.Outcomes) != len(rcpts) {
		return nil, nil, fmt.Errorf("policy returned %d outcomes for %d recipients", len(dec.Outcomes), len(rcpts))
	}
	// Recipients share a group, and so one copy, only when everything the
	// copy depends on is the same: the action and, for sealing, the
	// assurance, out-of-band factor, read receipt, retention and whether
	// direct recipients are included.
	type groupKey struct {
		action      policy.Action
		assurance   string
		oobFactor   string
		readReceipt bool
		retention   time.Duration
		allowDirect bool
		rejectText  string
	}
	byKey := map[groupKey]*group{}
	var groups []*group
	for k, o := range dec.Outcomes {
		a := o.Action
		if a == policy.ActionSealDirect {
			a = policy.ActionSeal
			o.AllowDirect = true
		}
		key := groupKey{action: a, rejectText: o.RejectText}
		if a == policy.ActionSeal {
			key.assurance, key.retention, key.allowDirect = o.Assurance, o.Retention, o.AllowDirect
			key.oobFactor, key.readReceipt = o.OOBFactor, o.ReadReceipt
		}
		g := byKey[key]
		if g == nil {
			g = &group{action: a, outcome: o}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.rcpts = append(g.rcpts, idx[k])
	}
	if dec.Monitor {
		r.auditf(ctx, t, "", "monitor", map[string]string{"would": wouldSummary(dec)})
	}
	return dec, groups, nil
}

func wouldSummary(d *policy.Decision) string {
	seen := map[policy.Action]int{}
	for _, o := range d.Outcomes {
		seen[o.Would]++
	}
	var parts []string
	for a, n := range seen {
		parts = append(parts, fmt.Sprintf("%s=%d", a, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// sealAndDeliver seals the message once for the group and delivers the
// sealed copy. Nothing is sent unless the ciphertext and the wrapped secret
// are committed to the store.
func (r *Relay) sealAndDeliver(ctx context.Context, t *txn, hdr textproto.Header, dec *policy.Decision, g *group) []*smtp.SMTPError {
	fail := func(what string, err error) []*smtp.SMTPError {
		r.m.sealFailed.Inc()
		r.log.Error("sealing failed", "trace", t.trace, "step", what, "err", err)
		r.auditf(ctx, t, "", "defer", map[string]string{"reason": "seal failed", "step": what})
		return repeat(tempFailure(t.trace), len(g.rcpts))
	}
	start := time.Now()

	var recipients []age.Recipient
	var direct []age.Recipient
	allowDirect := g.outcome.AllowDirect
	rcptAddrs := make([]string, 0, len(g.rcpts))
	for _, i := range g.rcpts {
		rcptAddrs = append(rcptAddrs, t.rcpts[i])
		if !allowDirect {
			continue
		}
		strs, err := r.dir.lookup(ctx, t.rcpts[i])
		if err != nil {
			return fail("directory", err)
		}
		for _, s := range strs {
			rc, err := keys.ParseRecipient(s)
			if err != nil {
				// A key that no longer parses (a plugin removed from this
				// host, say) must not silently drop a recipient's copy.
				return fail("directory key", err)
			}
			direct = append(direct, rc)
		}
	}
	if r.deps.Archive != nil {
		direct = append(direct, r.deps.Archive)
	}
	secret, own, err := seal.NewIdentity(seal.NeedsHybrid(direct))
	if err != nil {
		return fail("identity", err)
	}
	recipients = append(append(recipients, own), direct...)
	id := seal.NewMessageID()

	ct := r.deps.Spool.NewBuffer()
	defer ct.Remove()
	src, err := t.buf.Open()
	if err != nil {
		return fail("open spool", err)
	}
	sum, size, err := seal.Encrypt(ct, src, recipients)
	src.Close()
	if err != nil {
		return fail("encrypt", err)
	}
	if err := ct.Seal(); err != nil {
		return fail("spool ciphertext", err)
	}
	// The delivered copy is built before anything is stored, so that an
	// original it cannot carry (a From with control characters, say) is
	// refused before it leaves a record behind.
	ctr, err := ct.Open()
	if err != nil {
		return fail("open ciphertext", err)
	}
	envBody := r.deps.Spool.NewBuffer()
	defer envBody.Remove()
	prep, err := seal.PrepareEnvelope(envBody, seal.Envelope{
		Original:  hdr,
		Subject:   r.opt.Subject,
		PortalURL: strings.TrimSuffix(r.opt.PortalURL, "/") + "/m/" + id,
		OrgName:   r.opt.Organisation,
		Sender:    t.from,
	}, ctr)
	ctr.Close()
	if errors.Is(err, seal.ErrInvalidEnvelope) {
		r.log.Info("message refused: header cannot be carried on a sealed copy", "trace", t.trace, "err", err)
		r.auditf(ctx, t, "", "refuse", map[string]string{"reason": "header not carriable"})
		return repeat(reply(replyTxFailed, codeMedia, "Message header could not be parsed", t.trace), len(g.rcpts))
	}
	if err != nil {
		return fail("envelope", err)
	}
	if err := envBody.Seal(); err != nil {
		return fail("spool envelope", err)
	}

	wrap := r.deps.Keys.Wrap
	if r.opt.WrapTransit {
		wrap = r.deps.Keys.WrapTransit
	}
	wrapped, err := wrap(ctx, id, []byte(secret))
	secret = ""
	if err != nil {
		return fail("wrap", err)
	}
	// Phone numbers the sender supplied for the portal's SMS factor are
	// wrapped like the identity and bound to the message id. A malformed
	// header field is ignored (and counted); a wrap failure defers the
	// message like any other.
	ps := parsePhoneHeaders(hdr)
	var phones []wrappedPhone
	if usesPhone(g.outcome) {
		if phones, err = r.wrapPhones(ctx, id, ps, rcptAddrs); err != nil {
			return fail("wrap phone", err)
		}
	}
	var decision []byte
	if dec != nil {
		decision = dec.JSON()
	}
	m := &store.Message{
		ID:               id,
		Created:          time.Now().UTC(),
		TraceID:          t.trace,
		Sender:           t.from,
		Recipients:       rcptAddrs,
		Decision:         decision,
		Assurance:        g.outcome.Assurance,
		OOBFactor:        g.outcome.OOBFactor,
		ReadReceipt:      g.outcome.ReadReceipt,
		WrapVersion:      1,
		Wrapped:          wrapped,
		CiphertextSize:   size,
		CiphertextSHA256: sum,
	}
	if g.outcome.Retention > 0 {
		m.RetainUntil = m.Created.Add(g.outcome.Retention)
	}
	ctr, err = ct.Open()
	if err != nil {
		return fail("open ciphertext", err)
	}
	// The record and its audit entry are committed together.
	sealEntry := audit.Entry{
		Actor: "relay", Action: "seal", TraceID: t.trace, MessageID: id,
		Detail: map[string]string{
			"rule":       g.outcome.Rule,
			"recipients": strconv.Itoa(len(g.rcpts)),
			"direct":     strconv.Itoa(len(direct)),
			"assurance":  g.outcome.Assurance,
			"oob_factor": m.OOBFactor,
			"receipt":    strconv.FormatBool(m.ReadReceipt),
			"phones":     strconv.Itoa(len(phones)),
		},
	}
	if m.OOBFactor == "" {
		sealEntry.Detail["oob_factor"] = "any"
	}
	// Counts only: never a number.
	if ps.invalid > 0 {
		sealEntry.Detail["phone_invalid"] = strconv.Itoa(ps.invalid)
	}
	if n := ps.unmatched(t.rcpts); n > 0 {
		sealEntry.Detail["phone_unmatched"] = strconv.Itoa(n)
	}
	err = r.deps.Store.PutMessage(ctx, m, ctr, func(tx *sql.Tx) error {
		if _, err := r.deps.Audit.AppendTx(ctx, tx, sealEntry); err != nil {
			return err
		}
		for _, p := range phones {
			if err := store.PutPhoneTx(ctx, tx, id, p.rcpt, p.wrapped); err != nil {
				return err
			}
		}
		return nil
	})
	ctr.Close()
	if err != nil {
		return fail("store", err)
	}
	r.m.sealSeconds.Observe(time.Since(start).Seconds())
	failpoint.Hit(failpoint.AfterStore)

	idValue := seal.SignID(r.deps.MACKey, id, prep.BodySHA256)
	body := func() (io.ReadCloser, error) {
		eb, err := envBody.Open()
		if err != nil {
			return nil, err
		}
		rd, err := prep.Reader(idValue, eb)
		if err != nil {
			eb.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{rd, eb}, nil
	}
	return r.deliver(ctx, t, g, r.deps.NextHop, body, id)
}

// forward delivers the original bytes, with Sealpost's Received header first.
func (r *Relay) forward(ctx context.Context, t *txn, g *group, hop Hop) []*smtp.SMTPError {
	received := r.receivedHeader(t)
	body := func() (io.ReadCloser, error) {
		src, err := t.buf.Open()
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(strings.NewReader(received), src), src}, nil
	}
	return r.deliver(ctx, t, g, hop, body, "")
}

// deliver sends one copy to the group's recipients and records each accepted
// recipient in the ledger before the client is answered.
func (r *Relay) deliver(ctx context.Context, t *txn, g *group, hop Hop, open func() (io.ReadCloser, error), msgID string) []*smtp.SMTPError {
	out := make([]*smtp.SMTPError, len(g.rcpts))
	if r.deps.DKIM != nil {
		open = r.deps.DKIM.wrap(open)
	}
	env := nexthop.Envelope{From: t.from, SMTPUTF8: t.utf8, Body: t.body}
	if msgID != "" {
		// A sealed copy is 7-bit (base64 and quoted-printable) whatever the
		// original was, so it needs no 8BITMIME at the next hop.
		env.Body = ""
	}
	for _, i := range g.rcpts {
		env.To = append(env.To, t.rcpts[i])
	}
	body, err := open()
	if err != nil {
		r.log.Error("open message failed", "trace", t.trace, "err", err)
		return repeat(tempFailure(t.trace), len(g.rcpts))
	}
	start := time.Now()
	result, err := hop.Deliver(ctx, env, body)
	body.Close()
	r.m.hopSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		r.m.hopFailed.Inc()
		r.log.Warn("next hop failed", "trace", t.trace, "err", err)
		r.auditf(ctx, t, msgID, "defer", map[string]string{"reason": "next hop unavailable", "action": string(g.action)})
		return repeat(tempNextHop(t.trace), len(g.rcpts))
	}
	msgHash := t.buf.SHA256()
	var keys []string
	for k, i := range g.rcpts {
		rc := t.rcpts[i]
		// Never count a copy as delivered unless the next hop said so; a
		// recipient missing from the result is in doubt, so 4xx.
		if _, ok := result.Rcpt[rc]; !ok {
			out[k] = tempNextHop(t.trace)
			continue
		}
		if e := result.Err(rc); e != nil {
			out[k] = hopReply(e, t.trace)
			continue
		}
		keys = append(keys, ledgerKey(msgHash, rc))
	}
	delivered := len(keys)
	entry := audit.Entry{
		Actor: "relay", Action: "deliver", TraceID: t.trace, MessageID: msgID,
		Detail: map[string]string{
			"action": string(g.action), "rule": g.outcome.Rule,
			"delivered": strconv.Itoa(delivered), "failed": strconv.Itoa(len(g.rcpts) - delivered),
		},
	}
	if delivered == 0 {
		if _, err := r.deps.Audit.Append(ctx, entry); err != nil {
			r.log.Error("audit append failed", "trace", t.trace, "err", err)
		}
	} else if err := func() error {
		// The next hop has the copy: record it even if the transaction's
		// deadline passed while the next hop was answering, or the ledger
		// could not stop a retry from sending it again.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return r.deps.Store.LedgerRecordAll(rctx, keys, msgID, "250", func(tx *sql.Tx) error {
			_, err := r.deps.Audit.AppendTx(rctx, tx, entry)
			return err
		})
	}(); err != nil {
		// The next hop has the message: answering 4xx now would only send
		// it twice. Log loudly and carry on.
		r.log.Error("ledger record failed after delivery", "trace", t.trace, "err", err)
	}
	failpoint.Hit(failpoint.AfterDeliver)
	r.m.messages.WithLabelValues(string(g.action)).Add(float64(delivered))
	return out
}

// hopReply turns a next hop's reply into our own generic one, keeping only
// whether it was temporary or permanent, and its enhanced code.
func hopReply(e *smtp.SMTPError, trace string) *smtp.SMTPError {
	if e.Code >= 400 && e.Code < 500 {
		return reply(replyTempLocal, codeTempNextHop, "Next hop deferred delivery, please try again later", trace)
	}
	enh := e.EnhancedCode
	if enh[0] != 5 {
		enh = smtp.EnhancedCode{5, 0, 0}
	}
	return reply(replyRejected, enh, "Next hop refused delivery", trace)
}

// alreadySealed trusts X-Sealpost-Id only when its MAC verifies over the id
// and the hash of this message's body, and the store holds the message. A
// forged or copied header, or a sealed copy whose body was changed in any
// way, never switches sealing off.
func (r *Relay) alreadySealed(ctx context.Context, t *txn, hdr textproto.Header) bool {
	v := hdr.Get(seal.IDHeader)
	if v == "" {
		return false
	}
	id, sum, ok := seal.VerifyID(r.deps.MACKey, v)
	if !ok {
		r.log.Warn("X-Sealpost-Id does not verify: sealing as usual", "trace", t.trace)
		r.m.forgedID.Inc()
		return false
	}
	src, err := t.buf.Open()
	if err != nil {
		return false
	}
	got, err := seal.BodySHA256(src)
	src.Close()
	if err != nil || !constantEqual(got, sum) {
		r.log.Warn("X-Sealpost-Id does not match the body: sealing as usual", "trace", t.trace)
		r.m.forgedID.Inc()
		return false
	}
	if _, err := r.deps.Store.GetMessage(ctx, id); err != nil {
		r.log.Warn("X-Sealpost-Id not in the store: sealing as usual", "trace", t.trace)
		r.m.forgedID.Inc()
		return false
	}
	return true
}

func constantEqual(a, b []byte) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// receivedHeader is the trace field Sealpost adds to forwarded copies.
func (r *Relay) receivedHeader(t *txn) string {
	with := "ESMTP"
	if t.lmtp {
		with = "LMTP"
	}
	if t.tls {
		with += "S"
	}
	if t.user != "" {
		with += "A"
	}
	helo := sanitizeHeaderToken(t.helo)
	return fmt.Sprintf("Received: from %s (%s)\r\n\tby %s (Sealpost) with %s id %s;\r\n\t%s\r\n",
		helo, t.remote.String(), r.opt.Hostname, with, t.trace, time.Now().Format(time.RFC1123Z))
}

func sanitizeHeaderToken(s string) string {
	s = strings.Map(func(c rune) rune {
		if c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == ';' {
			return -1
		}
		return c
	}, s)
	if s == "" {
		return "unknown"
	}
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

// sanitizeReplyText keeps a policy's reject text printable and short.
func sanitizeReplyText(s string) string {
	s = strings.Map(func(c rune) rune {
		if c < ' ' || c >= 0x7f {
			return ' '
		}
		return c
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		s = "Message refused by policy"
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// ledgerKey identifies one recipient's copy of one exact message.
func ledgerKey(msgHash []byte, rcpt string) string {
	return store.LedgerKey(msgHash, []string{strings.ToLower(rcpt)})
}

func readHeader(b *spool.Buffer) (textproto.Header, error) {
	src, err := b.Open()
	if err != nil {
		return textproto.Header{}, err
	}
	defer src.Close()
	br := bufio.NewReaderSize(src, 32<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return textproto.Header{}, fmt.Errorf("failed to read header: %w", err)
	}
	if h.Len() == 0 {
		return textproto.Header{}, errors.New("empty header")
	}
	return h, nil
}

func (r *Relay) auditf(ctx context.Context, t *txn, msgID, action string, detail map[string]string) {
	if _, err := r.deps.Audit.Append(ctx, audit.Entry{
		Actor: "relay", Action: action, TraceID: t.trace, MessageID: msgID, Detail: detail,
	}); err != nil {
		r.log.Error("audit append failed", "trace", t.trace, "err", err)
	}
}

func repeat(e *smtp.SMTPError, n int) []*smtp.SMTPError {
	out := make([]*smtp.SMTPError, n)
	for i := range out {
		out[i] = e
	}
	return out
}

func countNil(es []*smtp.SMTPError) int {
	n := 0
	for _, e := range es {
		if e == nil {
			n++
		}
	}
	return n
}
