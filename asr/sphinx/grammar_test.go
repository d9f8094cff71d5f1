package sphinx

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hotline-ivr/hotline/asr"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Check my balance.":          "check my balance",
		"  Agent!!  ":                "agent",
		"I don't know":               "i don't know",
		"'quoted' words":             "quoted words",
		"e-mail / fax":               "e mail fax",
		"press 10":                   "press ten",
		"24x7 support":               "twenty four x seven support",
		"route 66":                   "route sixty six",
		"1200":                       "one thousand two hundred",
		"999999":                     "nine hundred ninety nine thousand nine hundred ninety nine",
		"007":                        "zero zero seven",
		"account 1234567":            "account one two three four five six seven",
		"0":                          "zero",
		"what is my balance, please": "what is my balance please",
		"?!":                         "",
	} {
		if got := strings.Join(Normalize(in), " "); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGrammarWords(t *testing.T) {
	requirePackages(t)
	got := grammarWords(readFile(t, testData+"/cards/cards.gram"))
	slices.Sort(got)
	got = slices.Compact(got)
	want := strings.Fields("ace clubs diamonds eight five four hearts jack king lady nine of queen seven six spades ten three two")
	if !slices.Equal(got, want) {
		t.Errorf("cards.gram words %q\nwant %q", got, want)
	}
	got = grammarWords("#JSGF V1.0 UTF-8;\n/* c */ grammar g; // x\nimport <a.b>;\npublic <s> = /2/ yes {tag} | \"no\" [please]*;")
	if !slices.Equal(got, []string{"yes", "no", "please"}) {
		t.Errorf("words %q", got)
	}
}

func TestUnknownWords(t *testing.T) {
	b := shared(t)
	req := asr.Request{Phrases: []string{"check my balance", "Zzyzx blorft!", "qwertyuiopasd", "agent"}}
	err := b.Validate(req.WithDefaults())
	var uw *UnknownWordsError
	if !errors.As(err, &uw) || !errors.Is(err, ErrUnknownWords) {
		t.Fatalf("err %v", err)
	}
	if !slices.Equal(uw.Words, []string{"blorft", "qwertyuiopasd", "zzyzx"}) {
		t.Errorf("unknown words %q", uw.Words)
	}
	if !strings.Contains(err.Error(), "blorft, qwertyuiopasd, zzyzx") {
		t.Errorf("message %q does not list the words", err)
	}
	// A session for it is refused at once, not failed later.
	if _, err := asr.NewSession(t.Context(), "sphinx", b, req, nil); !errors.Is(err, ErrUnknownWords) {
		t.Errorf("NewSession: %v", err)
	}
	// So is a raw grammar with an unknown word, and the phone loop's
	// internal words are not accepted from flows.
	for _, g := range []string{"#JSGF V1.0; grammar g; public <s> = yes | flurbo;", "#JSGF V1.0; grammar g; public <s> = hlphaa;"} {
		if err := b.Validate(asr.Request{Grammar: g}.WithDefaults()); !errors.Is(err, ErrUnknownWords) {
			t.Errorf("grammar %q: %v", g, err)
		}
	}
	if _, err := b.JSGF([]string{"?!"}); err == nil {
		t.Error("accepted a phrase without words")
	}
	if err := b.Validate(asr.Request{Language: "fr-FR"}.WithDefaults()); !errors.Is(err, asr.ErrUnsupported) {
		t.Errorf("French: %v", err)
	}
	if err := b.Validate(asr.Request{Language: "en-GB"}.WithDefaults()); err != nil {
		t.Errorf("en-GB: %v", err)
	}
	g, err := b.JSGF([]string{"Billing", "agent", "billing."})
	if err != nil || g != "#JSGF V1.0;\ngrammar hotline;\npublic <utterance> = agent | billing;\n" {
		t.Errorf("JSGF %q %v", g, err)
	}
}
