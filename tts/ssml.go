package tts

// SSML prompts. The IVR passes a prompt with markup as an SSML document: text that
// starts with "<speak" (see IsSSML), in the subset flow prompts may use (package
// flows: break, say-as, lang, voice, prosody, p, s). A document is planned into
// segments, one per voice: espeak-ng speaks each with its own SSML support (-m) for
// breaks and prosody, after say-as values have been expanded into words here (its
// own say-as knows no dates, currencies or Mandarin numbers), and the segments'
// audio is concatenated, since espeak-ng cannot change voice inside one utterance
// reliably. A break at a segment's edge is exact silence between the segments.

import (
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// IsSSML reports whether text is an SSML document by the convention the IVR uses:
// it starts (after blanks) with "<speak". Any other text is spoken as it is.
func IsSSML(text string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(text, unicode.IsSpace), "<speak")
}

// ErrSSML is wrapped by the errors of a document that is not valid SSML.
var ErrSSML = errors.New("tts: invalid SSML")

// maxBreak bounds one break, as the flow loader does.
const maxBreak = 10 * time.Second

// breakStrengths are the pauses of <break strength>: SSML leaves them to the
// engine; these follow the usual pauses after a comma (weak), a sentence (strong)
// and a paragraph (x-strong).
var breakStrengths = map[string]time.Duration{
	"none": 0, "x-weak": 100 * time.Millisecond, "weak": 200 * time.Millisecond, "medium": 400 * time.Millisecond,
	"strong": 700 * time.Millisecond, "x-strong": time.Second,
}

// The pauses a closing </s> and </p> leave: a sentence and a paragraph boundary.
const (
	sentencePause  = 300 * time.Millisecond
	paragraphPause = 600 * time.Millisecond
)

// segment is part of a document spoken with one voice: espeak-ng SSML markup, and
// exact silences before and after it.
type segment struct {
	voice       string
	body        strings.Builder
	words       bool // body holds something to say
	open        int  // prosody elements open in body
	lead, trail time.Duration
}

// markup returns the segment as an espeak-ng SSML document.
func (s *segment) markup() string {
	return "<speak>" + s.body.String() + strings.Repeat("</prosody>", s.open) + "</speak>"
}

// planner turns a document into segments.
type planner struct {
	segs    []*segment
	cur     *segment
	gap     time.Duration // silence owed before the next words
	prosody []string      // open prosody start tags, outermost first
}

// say adds markup (escaped words) spoken with voice.
func (p *planner) say(voice, markup string) {
	if strings.TrimSpace(markup) == "" {
		if p.cur != nil {
			p.cur.body.WriteString(markup)
		}
		return
	}
	switch {
	case p.cur != nil && p.cur.voice == voice:
		if p.gap > 0 {
			fmt.Fprintf(&p.cur.body, `<break time="%dms"/>`, p.gap.Milliseconds())
		}
	default:
		if p.cur != nil {
			p.cur.trail = p.gap
		}
		p.cur = &segment{voice: voice}
		if len(p.segs) == 0 {
			p.cur.lead = p.gap
		}
		p.segs = append(p.segs, p.cur)
		for _, tag := range p.prosody {
			p.cur.body.WriteString(tag)
		}
		p.cur.open = len(p.prosody)
	}
	p.gap = 0
	p.cur.body.WriteString(markup)
	p.cur.words = true
}

// pause owes d of silence before the next words.
func (p *planner) pause(d time.Duration) { p.gap += d }

// finish returns the segments, the last carrying the silence still owed.
func (p *planner) finish() []*segment {
	switch {
	case p.cur != nil:
		p.cur.trail = p.gap
	case p.gap > 0:
		p.segs = append(p.segs, &segment{lead: p.gap})
	}
	return p.segs
}

// scope is what applies inside an element: the voice and the language of say-as.
type scope struct {
	name  string
	voice string
	lang  string
}

// planSSML parses doc and plans its segments; voice is the voice of the request,
// used until a voice or lang element changes it.
func planSSML(doc, voice string) ([]*segment, error) {
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	p := &planner{}
	stack := []scope{{voice: voice, lang: langOfVoice(voice)}}
	var sayAsAttrs map[string]string
	var sayAsText strings.Builder
	root := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSSML, err)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			attrs := attrMap(t.Attr)
			sc := scope{name: t.Name.Local, voice: top.voice, lang: top.lang}
			if !root && t.Name.Local != "speak" {
				return nil, fmt.Errorf("%w: the document must be a speak element, not %s", ErrSSML, t.Name.Local)
			}
			if sayAsAttrs != nil {
				return nil, fmt.Errorf("%w: say-as holds text only", ErrSSML)
			}
			root = true
			switch t.Name.Local {
			case "speak":
				if l := attrs["lang"]; l != "" {
					sc.lang = baseLang(l)
				}
			case "lang":
				l := baseLang(attrs["lang"])
				if l == "" {
					return nil, fmt.Errorf("%w: lang needs xml:lang", ErrSSML)
				}
				if l != langOfVoice(sc.voice) {
					sc.voice = VoiceForLanguage(l)
				}
				sc.lang = l
			case "voice":
				if attrs["name"] == "" {
					return nil, fmt.Errorf("%w: voice needs name", ErrSSML)
				}
				sc.voice = attrs["name"]
				sc.lang = langOfVoice(sc.voice)
			case "break":
				d, err := breakLength(attrs)
				if err != nil {
					return nil, err
				}
				p.pause(d)
			case "say-as":
				if attrs["interpret-as"] == "" {
					return nil, fmt.Errorf("%w: say-as needs interpret-as", ErrSSML)
				}
				sayAsAttrs = attrs
				sayAsText.Reset()
			case "prosody":
				tag := "<prosody"
				for _, a := range []string{"rate", "volume"} {
					if v := attrs[a]; v != "" {
						tag += " " + a + `="` + html.EscapeString(v) + `"`
					}
				}
				tag += ">"
				p.prosody = append(p.prosody, tag)
				if p.cur != nil {
					p.cur.body.WriteString(tag)
					p.cur.open++
				}
			case "p", "s":
			default:
				return nil, fmt.Errorf("%w: element %s is not in the subset", ErrSSML, t.Name.Local)
			}
			stack = append(stack, sc)
		case xml.EndElement:
			switch t.Name.Local {
			case "say-as":
				p.say(top.voice, sayAs(sayAsText.String(), sayAsAttrs["interpret-as"], sayAsAttrs["format"], top.lang))
				sayAsAttrs = nil
			case "prosody":
				p.prosody = p.prosody[:len(p.prosody)-1]
				if p.cur != nil && p.cur.open > 0 {
					p.cur.body.WriteString("</prosody>")
					p.cur.open--
				}
			case "s":
				p.pause(sentencePause)
			case "p":
				p.pause(paragraphPause)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if sayAsAttrs != nil {
				sayAsText.Write(t)
			} else if root {
				p.say(top.voice, html.EscapeString(string(t)))
			}
		}
	}
	if !root {
		return nil, fmt.Errorf("%w: no speak element", ErrSSML)
	}
	return p.finish(), nil
}

func attrMap(attrs []xml.Attr) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Name.Local] = a.Value // xml:lang is Local "lang"
	}
	return m
}

// breakLength is the pause of a break element: its time, else its strength, else
// medium.
func breakLength(attrs map[string]string) (time.Duration, error) {
	if v := attrs["time"]; v != "" {
		var d time.Duration
		var err error
		if strings.HasSuffix(v, "ms") {
			var ms float64
			ms, err = strconv.ParseFloat(strings.TrimSuffix(v, "ms"), 64)
			d = time.Duration(ms * float64(time.Millisecond))
		} else if strings.HasSuffix(v, "s") {
			var sec float64
			sec, err = strconv.ParseFloat(strings.TrimSuffix(v, "s"), 64)
			d = time.Duration(sec * float64(time.Second))
		} else {
			err = errors.New("no unit")
		}
		if err != nil || d < 0 || d > maxBreak {
			return 0, fmt.Errorf("%w: break time %q must be from 0 to %v, such as 500ms or 2s", ErrSSML, v, maxBreak)
		}
		return d, nil
	}
	if v := attrs["strength"]; v != "" {
		d, ok := breakStrengths[v]
		if !ok {
			return 0, fmt.Errorf("%w: break strength %q", ErrSSML, v)
		}
		return d, nil
	}
	return breakStrengths["medium"], nil
}

// baseLang returns the language of a code without region: zh-CN is zh.
func baseLang(code string) string {
	l, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(code)), "-")
	return l
}

// langOfVoice returns the language an espeak-ng voice speaks: cmn, yue and zh voices
// speak zh, en-us en.
func langOfVoice(voice string) string {
	l := baseLang(voice)
	switch l {
	case "cmn", "yue", "zh", "hak":
		return "zh"
	case "":
		return "en"
	}
	return l
}

// VoiceForLanguage returns the espeak-ng voice a <lang> element without a voice of
// its own speaks with: en-us for en, cmn (Mandarin) for zh, else the code itself,
// which espeak-ng takes as a voice name.
func VoiceForLanguage(lang string) string {
	switch baseLang(lang) {
	case "en":
		return DefaultVoice
	case "zh":
		return "cmn"
	}
	return lang
}
