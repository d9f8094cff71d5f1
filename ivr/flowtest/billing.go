package flowtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
)

// Account is an account of the mock billing service, as GET /accounts/{account}
// answers it.
type Account struct {
	Balance  float64 `json:"balance"`
	Currency string  `json:"currency"`
	DueDate  string  `json:"due_date"` // YYYY-MM-DD
	LastBill float64 `json:"last_bill"`
	VIP      bool    `json:"vip"`
}

// DownAccount is the account number whose lookup the mock billing service answers
// with 503 Service Unavailable, so a demo or a test can take a flow's
// "billing is down" path.
const DownAccount = "99999999"

// DemoAccounts returns the accounts the mock billing service starts with:
//
//	12345678  42.50 EUR, last bill 39.90 due 2026-08-01 (env.yaml's example)
//	87654321  0.00 EUR, last bill 120.00 due 2026-07-15, VIP
//	55501234  310.20 USD, last bill 89.99 due 2026-06-20
//
// Any other number is 404 Not Found, and DownAccount is 503.
func DemoAccounts() map[string]Account {
	return map[string]Account{
		"12345678": {Balance: 42.5, Currency: "EUR", DueDate: "2026-08-01", LastBill: 39.9},
		"87654321": {Balance: 0, Currency: "EUR", DueDate: "2026-07-15", LastBill: 120, VIP: true},
		"55501234": {Balance: 310.2, Currency: "USD", DueDate: "2026-06-20", LastBill: 89.99},
	}
}

// Billing is the mock billing service that the sample flows' environment
// (flows/env.yaml) points at, shipped for the demo and the tests. It implements the
// contract written in env.yaml:
//
//	GET  /accounts/{account}    200 {"balance", "currency", "due_date", "last_bill", "vip"},
//	                            404 for an unknown account (503 for DownAccount)
//	POST /events/call-ended     any JSON object; 204
//
// and, to look at what flows sent, GET /events: the events received, as a JSON
// array. Serve it with httptest.NewServer in Go tests, with `hotline flow
// mock-billing` for the demo; `hotline flow test` answers http nodes with it when a
// test file mocks nothing else. It is safe for concurrent use.
type Billing struct {
	// APIKey, when set, is the X-Api-Key header every request needs (env.yaml sends
	// dev-key); a request without it gets 401.
	APIKey string

	mu       sync.Mutex
	accounts map[string]Account
	events   []map[string]any
	mux      *http.ServeMux
}

// NewBilling returns the service with DemoAccounts and no API key.
func NewBilling() *Billing {
	b := &Billing{accounts: DemoAccounts(), mux: http.NewServeMux()}
	b.mux.HandleFunc("GET /accounts/{account}", b.account)
	b.mux.HandleFunc("POST /events/call-ended", b.callEnded)
	b.mux.HandleFunc("GET /events", b.listEvents)
	return b
}

// SetAccount adds or replaces an account.
func (b *Billing) SetAccount(number string, a Account) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accounts[number] = a
}

// Events returns the call-ended events received, oldest first.
func (b *Billing) Events() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

func (b *Billing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.APIKey != "" && r.Header.Get("X-Api-Key") != b.APIKey {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong X-Api-Key"})
		return
	}
	b.mux.ServeHTTP(w, r)
}

func (b *Billing) account(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("account")
	if number == DownAccount {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the billing backend is down (demo account " + DownAccount + ")"})
		return
	}
	b.mu.Lock()
	a, ok := b.accounts[number]
	b.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no account " + number})
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (b *Billing) callEnded(w http.ResponseWriter, r *http.Request) {
	var ev map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&ev); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body must be a JSON object: " + err.Error()})
		return
	}
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (b *Billing) listEvents(w http.ResponseWriter, _ *http.Request) {
	evs := b.Events()
	if evs == nil {
		evs = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, evs)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
