/*
 * spandsp_ref.c generates the G.722 reference files the tests in
 * media/codec compare against, using spandsp's G.722 codec (Debian package
 * libspandsp2, 0.0.6), an implementation independent of ours that its
 * author checked against the ITU-T G.722 test sequences. Run ./gen.sh.
 *
 * Outputs (raw, little-endian):
 *   input.s16       16 kHz test signal: sweeps, tones, noise, clipping, silence
 *   input.g722      spandsp's 64 kbit/s encoding of input.s16
 *   input.dec.s16   spandsp's decoding of input.g722
 *   random.g722     pseudo-random octets (codes an encoder rarely emits)
 *   random.dec.s16  spandsp's decoding of random.g722
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct g722_encode_state_s g722_encode_state_t;
typedef struct g722_decode_state_s g722_decode_state_t;
g722_encode_state_t *g722_encode_init(g722_encode_state_t *s, int rate, int options);
int g722_encode(g722_encode_state_t *s, uint8_t g722_data[], const int16_t amp[], int len);
g722_decode_state_t *g722_decode_init(g722_decode_state_t *s, int rate, int options);
int g722_decode(g722_decode_state_t *s, int16_t amp[], const uint8_t g722_data[], int len);

#define RATE 16000
#define N (2 * RATE)   /* two seconds */
#define NRAND 8000

static uint32_t lcg = 12345;
static int32_t rnd(void) { lcg = lcg * 1103515245u + 12345u; return (int32_t)(lcg >> 16) & 0x7FFF; }

static int16_t clip(double v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)lrint(v); }

static void write_file(const char *name, const void *p, size_t size, size_t n) {
    FILE *f = fopen(name, "wb");
    if (f == NULL || fwrite(p, size, n, f) != n || fclose(f) != 0) { perror(name); exit(1); }
}

int main(void) {
    static int16_t in[N], out[N], rout[2 * NRAND];
    static uint8_t codes[N / 2], rcodes[NRAND];
    double phase = 0;
    for (int i = 0; i < N; i++) {
        double t = (double)i / RATE, v;
        if (t < 0.5) {          /* log sweep 50 Hz -> 7900 Hz at -6 dBFS */
            double f = 50 * pow(7900.0 / 50, t / 0.5);
            phase += 2 * M_PI * f / RATE;
            v = 16384 * sin(phase);
        } else if (t < 0.75) {  /* two tones, one loud enough to overload */
            v = 30000 * sin(2 * M_PI * 440 * t) + 12000 * sin(2 * M_PI * 6100 * t);
        } else if (t < 1.0) {   /* white noise at three levels */
            v = (rnd() - 16384) * (t < 0.83 ? 0.05 : t < 0.91 ? 0.5 : 2.0);
        } else if (t < 1.25) {  /* full-scale square wave, 300 Hz */
            v = fmod(t * 300, 1.0) < 0.5 ? 32767 : -32768;
        } else if (t < 1.5) {   /* silence then a quiet 1 kHz tone */
            v = t < 1.375 ? 0 : 100 * sin(2 * M_PI * 1000 * t);
        } else {                /* decaying 3 kHz burst into silence */
            v = 25000 * exp(-(t - 1.5) * 20) * sin(2 * M_PI * 3000 * t);
        }
        in[i] = clip(v);
    }
    for (int i = 0; i < NRAND; i++) rcodes[i] = (uint8_t)(rnd() >> 3);

    g722_encode_state_t *enc = g722_encode_init(NULL, 64000, 0);
    g722_decode_state_t *dec = g722_decode_init(NULL, 64000, 0);
    g722_decode_state_t *rdec = g722_decode_init(NULL, 64000, 0);
    if (!enc || !dec || !rdec) { fprintf(stderr, "init failed\n"); return 1; }
    int nc = g722_encode(enc, codes, in, N);
    int no = g722_decode(dec, out, codes, nc);
    int nr = g722_decode(rdec, rout, rcodes, NRAND);
    if (nc != N / 2 || no != N || nr != 2 * NRAND) { fprintf(stderr, "bad lengths %d %d %d\n", nc, no, nr); return 1; }

    write_file("input.s16", in, 2, N);
    write_file("input.g722", codes, 1, N / 2);
    write_file("input.dec.s16", out, 2, N);
    write_file("random.g722", rcodes, 1, NRAND);
    write_file("random.dec.s16", rout, 2, 2 * NRAND);
    return 0;
}
