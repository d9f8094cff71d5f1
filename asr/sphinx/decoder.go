package sphinx

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <malloc.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/jsgf.h>
#include <sphinxbase/fsg_model.h>
#include <sphinxbase/cmn.h>

// Searches a decoder holds: the phone loop and the language model for
// its lifetime, and up to HL_SLOTS compiled grammars (cached by the Go
// side, least recently used replaced first).
#define HL_SLOTS 16
enum { HL_LOOP, HL_LM, HL_GRAMMAR0 };

static const char *hl_name(int id) {
	static const char *names[] = {"hl_loop", "hl_lm", "hl_g0", "hl_g1", "hl_g2", "hl_g3",
		"hl_g4", "hl_g5", "hl_g6", "hl_g7", "hl_g8", "hl_g9", "hl_g10", "hl_g11", "hl_g12",
		"hl_g13", "hl_g14", "hl_g15"};
	return names[id];
}

// hl_set_jsgf compiles a JSGF grammar (its first public rule) into search
// id. It does what ps_set_jsgf_string does, which in this version of the
// library never frees the parsed grammar (8 kB lost per call, measured
// with mallinfo2); this frees everything it allocates.
static int hl_set_jsgf(ps_decoder_t *ps, int id, const char *text) {
	jsgf_t *j = jsgf_parse_string(text, NULL);
	if (j == NULL)
		return -1;
	jsgf_rule_t *rule = jsgf_get_public_rule(j);
	if (rule == NULL) {
		jsgf_grammar_free(j);
		return -2;
	}
	fsg_model_t *fsg = jsgf_build_fsg(j, rule, ps_get_logmath(ps),
		cmd_ln_float32_r(ps_get_config(ps), "-lw"));
	if (fsg == NULL) {
		jsgf_grammar_free(j);
		return -3;
	}
	int rv = ps_set_fsg(ps, hl_name(id), fsg);
	fsg_model_free(fsg); // the search keeps its own reference
	jsgf_grammar_free(j);
	return rv < 0 ? -4 : 0;
}

// hl_unset drops search id, switching away from it first: the library
// must not free the active search.
static void hl_unset(ps_decoder_t *ps, int id) {
	ps_set_search(ps, hl_name(HL_LOOP));
	ps_unset_search(ps, hl_name(id));
}

// hl_init loads a decoder with the arguments argv (see frontEnd) and
// without any search, so the phone words added next do not become
// unigrams of the language model.
static ps_decoder_t *hl_init(int argc, char **argv) {
	cmd_ln_t *c = cmd_ln_parse_r(NULL, ps_args(), argc, argv, FALSE);
	if (c == NULL)
		return NULL;
	ps_decoder_t *ps = ps_init(c);
	cmd_ln_free_r(c); // ps_init holds its own reference
	return ps;
}

// hl_start_live opens an utterance on search id for streaming decoding
// with live cepstral mean normalisation: a decoder left in batch mode by
// hl_decode would compute no frame before the end of the utterance, so
// no partial result.
static int hl_start_live(ps_decoder_t *ps, int id) {
	ps_get_feat(ps)->cmn = CMN_LIVE;
	if (ps_set_search(ps, hl_name(id)) < 0)
		return -1;
	return ps_start_utt(ps);
}

// hl_cmn returns the decoder's cepstral mean normalisation type.
static int hl_cmn(ps_decoder_t *ps) {
	return ps_get_feat(ps)->cmn;
}

// hl_decode runs a whole utterance through a search. full_utt lets the
// front end use batch cepstral mean normalisation, as the model was
// trained (feat.params: -cmn batch). The front end switches itself to
// live normalisation for good once it has streamed audio (partial
// results), so the decoder's own type is restored first. Returns the
// frame count or < 0.
static int hl_decode(ps_decoder_t *ps, int id, const int16 *pcm, size_t n, int cmn) {
	ps_get_feat(ps)->cmn = cmn;
	if (ps_set_search(ps, hl_name(id)) < 0)
		return -1;
	if (ps_start_utt(ps) < 0)
		return -2;
	int rv = ps_process_raw(ps, pcm, n, FALSE, TRUE);
	if (ps_end_utt(ps) < 0 || rv < 0)
		return -3;
	return ps_get_n_frames(ps);
}

// hl_beams sets the beams searches created from now on use (each search
// reads them when it is created).
static void hl_beams(ps_decoder_t *ps, double beam, double wbeam, double pbeam) {
	cmd_ln_t *c = ps_get_config(ps);
	cmd_ln_set_float_r(c, "-beam", beam);
	cmd_ln_set_float_r(c, "-wbeam", wbeam);
	cmd_ln_set_float_r(c, "-pbeam", pbeam);
}

static double hl_exp(ps_decoder_t *ps, int32 v) {
	return logmath_exp(ps_get_logmath(ps), v);
}

static size_t hl_malloc_in_use(void) {
	return mallinfo2().uordblks;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// framesPerSecond is the front end's frame rate (-frate 100).
const framesPerSecond = 100

// loopPhones are the model's context-independent speech phones (its mdef
// without SIL and the noise phones). Each becomes a one-phone word so that
// an unconstrained phone loop can be written as a JSGF grammar.
var loopPhones = strings.Fields("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH")

// loopWord is the dictionary word for a phone of the loop; no real word
// has this spelling, and the dictionary check keeps flows from using it.
func loopWord(phone string) string { return "hlph" + strings.ToLower(phone) }

// frontEnd are the decoder arguments every decoder gets after -hmm and
// -dict. -remove_noise no: the spectral noise subtraction hurts 8 kHz
// telephone audio upsampled to 16 kHz (measured on espeak-ng speech
// through G.711: 17 of 36 menu phrases right with it, 36 of 36 without,
// both with batch CMN). -remove_silence no: every frame is decoded, so
// word times are offsets in the audio as sent. The beams are wider than
// the library's defaults (1e-48, 7e-29, 1e-48) for grammar searches: on
// telephone speech the right phrase was pruned early (measured on 8 menu
// phrases in 8 espeak-ng voices through G.711, decoded whole: 58 of 64
// right with the defaults, 60 with these; 1e-100 gave no more; running
// the decoder at 8 kHz with -nfft 256 -upperf 3500 instead of upsampling
// gave 9 of 64, the model's filterbank no longer matching its training).
// The language model keeps the defaults (see newDecoder).
var frontEnd = []string{"-remove_noise", "no", "-remove_silence", "no",
	"-beam", "1e-80", "-wbeam", "1e-60", "-pbeam", "1e-80"}

// initMu serialises decoder creation: ps_init touches the library's
// global logging state.
var (
	initMu   sync.Mutex
	initOnce sync.Once
)

// searchID names a decoder's search, numbered as hl_name numbers them.
type searchID int

const (
	searchLoop     searchID = C.HL_LOOP
	searchLM       searchID = C.HL_LM
	searchGrammar0 searchID = C.HL_GRAMMAR0
	grammarSlots            = C.HL_SLOTS
)

// decoder is one PocketSphinx decoder and everything it holds in C. It is
// used by one goroutine at a time (the pool hands it out).
type decoder struct {
	ps   *C.ps_decoder_t
	cmn  C.int // the model's normalisation type, restored for batch decoding
	live bool  // an utterance is open for partial results

	// The grammar cache: a menu's grammar is compiled once per decoder,
	// not once per caller.
	grammars [grammarSlots]string // the JSGF each slot holds, "" if free
	used     [grammarSlots]uint64 // when each slot was last used
	tick     uint64
}

// newDecoder loads the acoustic model and dictionary (a few hundred ms)
// and sets up the phone loop and, if lm is not empty, the language model.
func newDecoder(hmm, dict, lm string, extra ...string) (*decoder, error) {
	initMu.Lock()
	defer initMu.Unlock()
	initOnce.Do(func() { C.err_set_logfp(nil) }) // errors come back as return codes
	args := append([]string{"hotline", "-hmm", hmm, "-dict", dict}, frontEnd...)
	args = append(args, extra...)
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, a := range argv[:len(args)] {
			C.free(unsafe.Pointer(a))
		}
	}()
	ps := C.hl_init(C.int(len(args)), (**C.char)(unsafe.Pointer(&argv[0])))
	if ps == nil {
		return nil, fmt.Errorf("sphinx: loading model %s with dictionary %s failed", hmm, dict)
	}
	d := &decoder{ps: ps, cmn: C.hl_cmn(ps)}
	var alts []string
	for i, p := range loopPhones {
		w := loopWord(p)
		cw, cp := C.CString(w), C.CString(p)
		update := C.int(0)
		if i == len(loopPhones)-1 {
			update = 1
		}
		rv := C.ps_add_word(ps, cw, cp, update)
		C.free(unsafe.Pointer(cw))
		C.free(unsafe.Pointer(cp))
		if rv < 0 {
			d.free()
			return nil, fmt.Errorf("sphinx: model %s has no phone %s", hmm, p)
		}
		alts = append(alts, w)
	}
	if err := d.setJSGF(searchLoop, "#JSGF V1.0;\ngrammar loop;\npublic <loop> = ("+strings.Join(alts, " | ")+")+;\n"); err != nil {
		d.free()
		return nil, fmt.Errorf("sphinx: setting up the phone loop: %w", err)
	}
	if lm != "" {
		// The language model keeps the library's default beams: the wide
		// grammar beams made open mode four times slower (CPU/audio 0.31
		// to 1.31) for no gain.
		C.hl_beams(ps, 1e-48, 7e-29, 1e-48)
		clm := C.CString(lm)
		rv := C.ps_set_lm_file(ps, C.hl_name(C.int(searchLM)), clm)
		C.hl_beams(ps, 1e-80, 1e-60, 1e-80)
		C.free(unsafe.Pointer(clm))
		if rv < 0 {
			d.free()
			return nil, fmt.Errorf("sphinx: loading language model %s failed", lm)
		}
	}
	return d, nil
}

// free releases the decoder's C memory.
func (d *decoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

func (d *decoder) setJSGF(id searchID, jsgf string) error {
	c := C.CString(jsgf)
	defer C.free(unsafe.Pointer(c))
	switch C.hl_set_jsgf(d.ps, C.int(id), c) {
	case 0:
		return nil
	case -1:
		return errors.New("sphinx: the grammar is not valid JSGF")
	case -2:
		return errors.New("sphinx: the grammar has no public rule")
	default:
		return errors.New("sphinx: pocketsphinx could not compile the grammar")
	}
}

// useGrammar returns the search holding jsgf, compiling it into the least
// recently used slot if it is not cached.
func (d *decoder) useGrammar(jsgf string) (searchID, error) {
	d.tick++
	victim := 0
	for i, g := range d.grammars {
		if g == jsgf {
			d.used[i] = d.tick
			return searchGrammar0 + searchID(i), nil
		}
		if d.used[i] < d.used[victim] {
			victim = i
		}
	}
	id := searchGrammar0 + searchID(victim)
	if d.grammars[victim] != "" {
		C.hl_unset(d.ps, C.int(id))
		d.grammars[victim] = ""
	}
	if err := d.setJSGF(id, jsgf); err != nil {
		return 0, err
	}
	d.grammars[victim], d.used[victim] = jsgf, d.tick
	return id, nil
}

// reset ends an utterance left open, so the next user starts clean.
func (d *decoder) reset() {
	if d.live {
		C.ps_end_utt(d.ps)
		d.live = false
	}
}

// startLive opens an utterance on search id for streaming decoding
// (partial results).
func (d *decoder) startLive(id searchID) error {
	if C.hl_start_live(d.ps, C.int(id)) < 0 {
		return errors.New("sphinx: starting an utterance failed")
	}
	d.live = true
	return nil
}

// processLive feeds audio to the open utterance and returns the current
// hypothesis.
func (d *decoder) processLive(pcm []int16) (string, error) {
	if len(pcm) == 0 {
		return "", nil
	}
	if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), 0, 0) < 0 {
		return "", errors.New("sphinx: processing audio failed")
	}
	var score C.int32
	return goString(C.ps_get_hyp(d.ps, &score)), nil
}

// hypothesis is a decoding's outcome as read from the decoder.
type hypothesis struct {
	text   string
	score  float64 // path score, in the decoder's scaled log units
	prob   float64 // posterior of the best path (language-model search)
	frames int
	segs   []segment // words and fillers, in order
}

type segment struct {
	word       string
	start, end int     // frames
	post       float64 // posterior, language-model search only
	ascr       float64 // acoustic score
	filler     bool    // silence or noise, not a word
}

// decode runs pcm through search id as one utterance.
func (d *decoder) decode(pcm []int16, id searchID) (hypothesis, error) {
	var h hypothesis
	if len(pcm) == 0 {
		return h, nil
	}
	if d.live {
		C.ps_end_utt(d.ps)
		d.live = false
	}
	n := C.hl_decode(d.ps, C.int(id), (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), d.cmn)
	if n < 0 {
		return h, fmt.Errorf("sphinx: decoding failed (%d)", int(n))
	}
	h.frames = int(n)
	var score C.int32
	hyp := C.ps_get_hyp(d.ps, &score)
	if hyp == nil {
		return h, nil // no path reached the end of the grammar
	}
	h.text = C.GoString(hyp)
	h.score = float64(score)
	lm := id == searchLM
	if lm {
		h.prob = float64(C.hl_exp(d.ps, C.ps_get_prob(d.ps)))
	}
	for seg := C.ps_seg_iter(d.ps); seg != nil; seg = C.ps_seg_next(seg) {
		w := C.GoString(C.ps_seg_word(seg))
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i] // alternative pronunciation: word(2)
		}
		var sf, ef C.int
		C.ps_seg_frames(seg, &sf, &ef)
		var ascr, lscr, lback C.int32
		post := C.ps_seg_prob(seg, &ascr, &lscr, &lback)
		s := segment{word: w, start: int(sf), end: int(ef) + 1, ascr: float64(ascr),
			filler: w == "" || w[0] == '<' || w[0] == '[' || w[0] == '+'}
		if lm {
			s.post = float64(C.hl_exp(d.ps, post))
		}
		h.segs = append(h.segs, s)
	}
	// Segment frames may count from the decoder's first utterance (after
	// a streaming one they do); the last segment ends with this
	// utterance's last frame, which makes them relative to its start.
	if k := len(h.segs); k > 0 {
		if base := h.segs[k-1].end - h.frames; base > 0 {
			for i := range h.segs {
				h.segs[i].start -= base
				h.segs[i].end -= base
			}
		}
	}
	return h, nil
}

func goString(c *C.char) string {
	if c == nil {
		return ""
	}
	return C.GoString(c)
}

// cMallocInUse returns the bytes the C heap has handed out and not freed
// (glibc mallinfo2), for leak tests of the decoders' C memory.
func cMallocInUse() uint64 { return uint64(C.hl_malloc_in_use()) }
