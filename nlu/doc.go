// Package nlu understands what a caller said, for IVR flows: which of the flow's
// intents they want (Train, Classifier), the digits, numbers, amounts, dates,
// phone and account numbers in their words (Extract, Extractor), and how unhappy
// they sound (AnalyzeSentiment). It reads English and Mandarin, mixed freely, and
// uses no word segmenter, no model files and nothing outside the standard library:
// its three small lexicons (concepts.txt, sentiment.txt and the numeral tables)
// are embedded. Everything is immutable after construction and safe for
// concurrent use by every call.
//
// A runtime wires it to a flow like this:
//
//	c, err := nlu.Train(intentsOf(flow))           // once, when the flow loads
//	r := c.Classify(transcript, vars["language"])  // per utterance, ~1–15 µs
//	intent, ok := r.Match(node.Threshold)          // !ok → the node's no_match
//	s := nlu.AnalyzeSentiment(transcript, lang, prosody)
//	// set intent, intent_confidence = r.Confidence, sentiment = s.Score, transcript
//
// where intentsOf copies flow.Intents into []nlu.Intent (flows.Phrases is the
// same map type). An intent node naming a subset of the intents uses
// ClassifyInto with that subset.
//
// # Intents
//
// Each language's example phrases become vectors of weighted features, in four
// blocks normalized separately and weighted 0.35, 0.30, 0.25, 0.10:
//
//   - words: the stem of each word (a light English stemmer: refunds, refunded →
//     refund) and each pair of adjacent stems; function words count a fifth;
//   - characters: the 3- to 5-character n-grams of each word padded with spaces
//     (an ASR split "re fund" still shares "fun", "und", "nd "), and every 1-, 2-
//     and 3-character sequence of Chinese text, in place of a word segmenter;
//   - concepts: the paraphrase groups of concepts.txt, about thirty groups of
//     customer-service vocabulary in both languages, so that "I want my money
//     back", "reimburse" and 退钱 share a feature with "refund";
//   - sound-alike keys: each word's first consonant classes, so that "build"
//     heard for "bill" or "bell" still counts a little.
//
// Weights are TF-IDF with the IDF counted over intents, not phrases: ln((K+1)/df)
// for K intents of which df hold the feature. A feature no phrase has gets 0.7 ×
// ln(K+1), so the words a flow never mentions dilute the match: an out-of-domain
// sentence is mostly such words. An utterance's similarity to an intent is half
// the cosine to its closest phrase plus half the mean cosine to its three closest.
//
// # Calibration
//
// Similarities become probabilities by a softmax with a "none of them" class:
//
//	P(intent i) = exp((sᵢ − b)/T) / (1 + Σⱼ exp((sⱼ − b)/T)),   P(none) = 1 / (same)
//
// T and b are fitted per language when the classifier is trained, by maximum a
// posteriori on cases drawn from the flow's own phrases: each phrase classified
// with itself left out (its intent is the answer) and with its whole intent left
// out (none is the answer: a realistic request the flow does not cover). A weak
// prior centred on T = 0.07, b = 0.28 (σ 0.7 in ln T, 0.12 in b) keeps a fit on a
// dozen phrases sensible; with fewer than three usable phrases the prior values
// are used as they are. Result.Confidence is the probability of the best intent;
// Match compares it with the node's threshold. An out-of-domain sentence gets a
// high Result.None and a low confidence: no_match.
//
// Measured on the eight-intent flow of testdata/intents_train.tsv (four phrases
// per intent and language), at threshold 0.5, by TestIntentHeldOut:
//
//	                               development set          blind set
//	                               (intents_heldout.tsv)    (intents_blind.tsv)
//	in-domain top-1                124/128 = 0.97           74/80 = 0.93
//	in-domain right at 0.5, en/zh  0.95 / 0.92              0.95 / 0.78
//	out-of-domain → no_match       48/48                    20/20
//	all decisions right at 0.5     168/176 = 0.95           89/100 = 0.89
//	confidence ≥ 0.8: right        107/108 = 0.99           58/60 = 0.97
//	expected calibration error     0.04                     0.07
//
// The development set (paraphrases and ASR-style errors: dropped words,
// homophones, split words, wrong characters) was used while the features and
// concepts.txt were written; the blind set was written afterwards and scored
// without tuning against it, so its column is the honest one (a later change to
// the calibration search, made for speed, moved it from 87 to 89 right). Reliability on the blind set
// (confidence bin: right/predictions, mean confidence): [0, 0.2) 2/24 0.03;
// [0.2, 0.4) 3/4 0.30; [0.4, 0.6) 3/4 0.52; [0.6, 0.8) 8/8 0.72; [0.8, 1] 58/60
// 0.98. The errors are mostly low-confidence no_matches, the safe failure (the
// node asks again); a few are confident and wrong. telecom.yaml's four intents,
// trained from the flow file, route everyday utterances in both languages at
// their node's threshold 0.6 (TestTelecomFlow).
//
// Limits. Paraphrases are understood only through shared characters, stems and
// concepts.txt; a request in words none of them holds (Chinese 销号 for "close
// my number") scores low. Chinese homophone errors of ASR (推款 for 退款, 头诉
// for 投诉) are not repaired: there is no pinyin table. Traditional characters
// are not mapped to simplified ones. The calibration is fitted on the flow's own
// few phrases, with the full model's IDF (a slight optimism), so a flow whose
// intents are easy to tell apart gets a low temperature and confidences near 1.
// Languages other than English and Chinese train and classify on words and
// character n-grams, without stems or concepts.
//
// # Entities
//
// Extract reads, in either language's numerals, in any text:
//
//   - EntityDigits: "one two three four", "double five", "oh", "thirty four" (as
//     34), 一二三四, 幺三八, 两, "0800", "555-1234", "138 1234 5678";
//   - EntityNumber: "twenty three", "one hundred and five", "three point five",
//     一百二十, 一千零五, 两万三, 一百二 (120), 5万, "1,250";
//   - EntityAmount: "twenty three dollars fifty", "$23.50", "fifty cents", "99p",
//     "23.50" (currency unsaid), 一百二十块五, 三块五毛二, 120元5角3分, ¥99;
//   - EntityDate: today, tomorrow, the day after tomorrow, Monday, next Monday,
//     last Tuesday, in three days, two weeks ago, March 3rd (2026), the 3rd of
//     March, the 5th, 3/5 (English: month first), 2026-03-05, 今天, 明天, 后天,
//     大后天, 周一, 下周一, 上星期三, 这周五, 三天后, 三月五号, 2026年3月5日, 五号;
//   - EntityPhone: E.164 from a digit string of a phone number's shape (a leading +
//     or "plus" or 00; a North American 10- or 11-digit number when the country is
//     1; a Chinese mobile 1[3-9]x xxxx xxxx, with or without 86; a national number
//     with trunk prefix 0 in the configured country);
//   - EntityAccount: a digit string of the configured length (default 8 to 12).
//
// A digit string is reported as EntityDigits and, when it fits, as EntityPhone
// and EntityAccount over the same span. Where a number reads both as a quantity
// and as digits said one by one, the longer reading wins (one two three → 123,
// one hundred → 100; nineteen eighty four → 1984). Dates without a year and bare
// days of the month take the occurrence nearest to now (WithDatePreference:
// future or past instead). Weeks start on Monday: "next Monday" and 下周一 are the
// Monday of next week, a bare "Monday" or 周一 the next one from today, today
// included; 这周一 the Monday of this week, passed or not. The language selects
// the phone country (86 for zh, else 1; WithCountryCode) and rejects the
// ambiguous 3/5 in Chinese.
//
// Limits: no times of day, ranges ("between the 3rd and the 5th"), months
// without a day, or relative months; "may" and "march" are months only before a
// day; currencies are USD, GBP, EUR and CNY (¥ is read as CNY); an ASCII integer
// of three or more digits is a digit string, not a quantity; numbers above 10¹⁵
// keep their digits but not their value. Text past 16 KiB is ignored.
//
// # Sentiment
//
// AnalyzeSentiment scores an utterance from -1 (furious) through 0 (neutral or no
// evidence) to +1 (delighted); the flow variable sentiment holds Score. The words
// are matched against sentiment.txt (about 500 English and Chinese terms valued
// -3 to +3: profanity, complaint words, frustration such as "third time" or 说好的,
// satisfaction), English on stems and Chinese by longest match, so that 不满意,
// 不错 and 不好意思 are read whole. Modifiers reach the next term within three
// tokens: negations flip a positive term ("not happy", 不太满意) and cancel a
// negative one (callers negate complaints rhetorically more often than they
// praise by litotes; "not bad" and 不错 are terms); intensifiers (very, 太, 非常)
// and diminishers (a bit, 有点) scale it; after "but" or 但是 later terms count
// three times the earlier ones; exclamation marks add up to 30 %. The sum S gives
// S/√(S²+8): one strong complaint word about -0.58, "not happy" -0.47, profanity
// -0.73.
//
// Prosody (loudness relative to the caller's earlier speech, speaking rate) gives
// an arousal a from 0 to 1, which amplifies negative words (score·(1+0.5a) −
// 0.1a) and tempers positive ones (score·(1−0.3a) − 0.2a). Alone it reaches at
// most -0.2: a loud caller is not taken for an angry one without words to say so.
//
// Thresholds: below SentimentUnhappy (-0.4) route to a person first, as
// telecom.yaml does; below SentimentAngry (-0.7) angry; above SentimentHappy
// (0.25) satisfied. Measured by TestSentimentLabelled (neg, neu, pos labels):
//
//	                      development set (200)       blind set (50)
//	3-way accuracy en/zh  0.99 / 0.98                 0.72 / 0.76
//	AUC neg vs rest       0.99 / 0.99                 0.82 / 0.85
//	neg recall en/zh      0.98 / 0.95                 0.30 / 0.50
//	neutral called neg    0 of 76                     0 of 20
//
// The lexicon went through three rounds, each blind set's misses shaping the
// next; the earlier blind sets, now in the development set, scored 0.76/0.68 and
// 0.60/0.64. The design is precision first: across all sets no neutral or happy
// utterance fell below the routing threshold, so nobody jumps the queue for
// nothing, but implicit complaints ("I was told someone would ring me back and
// nobody did", 一点用都没有) are missed about half the time. Sarcasm, irony and
// complaints carried by facts rather than words are beyond a lexicon; the prosody
// cues are the intended complement.
//
// # Performance
//
// On the shared two-core CI machine (go test -bench . -benchmem; figures vary by
// about a third between runs): Classify 1–15 µs per utterance with one
// allocation (the ranking; ClassifyInto none), about 0.14 ms for the longest
// transcript it reads; Train 4–5 ms for 64 phrases in two languages; Extract
// 3–9 µs (no allocation when nothing is found); AnalyzeSentiment 0.3–4 µs without
// allocation. Work is bounded: the classifier and sentiment read the first 256
// words or characters of a transcript (at most 4 KiB), Extract 16 KiB.
package nlu
