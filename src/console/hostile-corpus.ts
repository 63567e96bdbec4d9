/**
 * Test corpora for the console sanitiser: hostile inputs drawn from terminal-injection history, each
 * with the substrings that must not survive, and benign full-screen output that must pass unchanged.
 */

/** One hostile input: what must not reach the host terminal, and optionally the exact output. */
export interface HostileCase {
  name: string;
  input: Buffer;
  /** Byte strings that must not appear anywhere in the sanitised output. */
  mustNotContain: Buffer[];
  /** The exact sanitised output, when it is worth pinning. */
  expected?: Buffer;
}

/** One benign input: the sanitiser must return it byte for byte. */
export interface BenignCase {
  name: string;
  input: Buffer;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const u = (s: string): Buffer => Buffer.from(s, 'utf8');
const ESC = '\x1b';
const CSI = '\x1b[';
const OSC = '\x1b]';
const DCS = '\x1bP';
const ST = '\x1b\\';
const BEL = '\x07';

function hostile(name: string, input: Buffer | string, mustNot: string[], expected?: Buffer | string): HostileCase {
  return {
    name,
    input: typeof input === 'string' ? b(input) : input,
    mustNotContain: mustNot.map(b),
    ...(expected === undefined ? {} : { expected: typeof expected === 'string' ? b(expected) : expected }),
  };
}

/** Hostile inputs, each dropped whole (or rewritten) so no part can act on the host terminal. */
export const HOSTILE_CASES: HostileCase[] = [
  // CVE-2003-0063: set the title to a command, then ask xterm to type it back (report title).
  hostile('cve-2003-0063 title set + report', `a${OSC}2;;rm -rf ~;${BEL}${CSI}21t${CSI}20tb`, [OSC, 'rm -rf', '21t', '20t'], 'ab'),
  hostile('title set with ST', `x${OSC}0;pwned${ST}y`, [OSC, 'pwned'], 'xy'),
  hostile('icon name set', `${OSC}1;pwned${BEL}`, ['pwned'], ''),
  // CVE-2008-2383: DECRQSS with a payload xterm echoed back with a newline.
  hostile('cve-2008-2383 decrqss', `${DCS}$q\ncat /etc/passwd\n${ST}ok`, [DCS, '$q', 'passwd'], 'ok'),
  hostile('xtgettcap', `${DCS}+q544e${ST}`, ['544e', '+q'], ''),
  hostile('sixel', `${DCS}0;0;0q"1;1;1;1#0;2;0;0;0#0~~@@vv${ST}z`, ['#0;2', '~~@@'], 'z'),
  // CVE-2022-45063: OSC 50 font query/set, whose reply xterm mishandled.
  hostile('cve-2022-45063 osc 50', `${OSC}50;i${BEL}${OSC}50;?${BEL}`, [OSC, '50;'], ''),
  // CVE-2021-33477: rxvt "ESC G Q" graphics query, answered with a newline-terminated reply.
  hostile('cve-2021-33477 rxvt esc G Q', `${ESC}GQ;touch /tmp/x\n`, [`${ESC}G`], 'Q;touch /tmp/x\n'),
  hostile('rxvt osc 720/777 extensions', `${OSC}720;1${BEL}${OSC}777;notify;hi;there${BEL}`, ['720', 'notify'], ''),
  hostile('osc 52 clipboard write', `${OSC}52;c;ZWNobyBwd25lZAo=${BEL}`, [OSC, '52;', 'ZWNobyBwd25lZAo='], ''),
  hostile('osc 52 clipboard query', `${OSC}52;c;?${ST}`, [OSC, '52;'], ''),
  hostile('osc 4 palette set + query', `${OSC}4;1;#ff0000${BEL}${OSC}4;1;?${BEL}`, [OSC, '4;1'], ''),
  hostile('osc 10/11 colour query', `${OSC}10;?${BEL}${OSC}11;?${BEL}`, [OSC], ''),
  hostile('osc 7 cwd', `${OSC}7;file://host/etc${BEL}`, [OSC, 'file://'], ''),
  hostile('osc 8 hyperlink', `${OSC}8;;file:///etc/passwd${ST}click${OSC}8;;${ST}`, [OSC, 'file:'], 'click'),
  hostile('osc 1337 iterm file', `${OSC}1337;File=inline=1:AAAA${BEL}`, ['1337', 'File='], ''),
  hostile('osc 9 notification', `${OSC}9;hello${BEL}`, [OSC], ''),
  hostile('tmux passthrough', `${DCS}tmux;${ESC}${ESC}]52;c;cHduZWQ=${BEL}${ST}`, [OSC, '52;', 'cHduZWQ', 'tmux'], ''),
  hostile('screen passthrough', `${DCS}${OSC}52;c;cHduZWQ=${BEL}${ST}`, [OSC, '52;', 'cHduZWQ'], ''),
  hostile('apc kitty graphics', `${ESC}_Gf=100,a=T;AAAA${ST}k`, ['Gf=', 'AAAA'], 'k'),
  hostile('sos and pm', `${ESC}Xsos${ST}${ESC}^pm${ST}`, ['sos', 'pm'], ''),
  // Raw 0x80-0x9F is invalid UTF-8: it becomes U+FFFD (never passed on), and the text after it stays text.
  hostile('c1 8-bit csi dsr', `a\x9b6nb`, ['\x9b'], u('a\ufffd6nb')),
  hostile('c1 8-bit osc 52', `\x9d52;c;cHduZWQ=\x07z`, ['\x9d', '\x1b]'], u('\ufffd52;c;cHduZWQ=\x07z')),
  hostile('c1 8-bit dcs decrqss', `\x90$qm\x9cok`, ['\x90', '\x9c', '\x1bP'], u('\ufffd$qm\ufffdok')),
  hostile('utf-8 encoded c1 csi', u(`a\u009b6nb`), ['\xc2\x9b', '6n'], 'ab'),
  hostile('utf-8 encoded c1 osc with utf-8 st', u(`\u009d0;pwned\u009cok`), ['\xc2\x9d', 'pwned'], 'ok'),
  hostile('utf-8 encoded nel and ind', u(`a\u0085\u0084b`), ['\xc2\x85', '\xc2\x84'], 'ab'),
  // C0 9B is an overlong ESC: a lenient decoder would see ESC [ 6 n; we show U+FFFD and harmless text.
  hostile('overlong utf-8 esc', `\xc0\x9b[6n\xe0\x80\x9b`, ['\x1b', '\xc0', '\xe0\x80', '\x9b'], u('\ufffd\ufffd[6n\ufffd\ufffd\ufffd')),
  hostile('utf-8 surrogate and out of range', `\xed\xa0\x80\xf4\x90\x80\x80\xff`, ['\xed\xa0', '\xf4\x90', '\xff']),
  hostile('dsr and cursor report', `${CSI}5n${CSI}6n${CSI}?6n`, ['n'], ''),
  hostile('device attributes', `${CSI}c${CSI}0c${CSI}>c${CSI}>0c${CSI}=c`, ['c'], ''),
  hostile('decrqm', `${CSI}?2004$p${CSI}4$p`, ['$p'], ''),
  hostile('window ops', `${CSI}14t${CSI}18t${CSI}21t${CSI}8;100;300t${CSI}9;1t${CSI}2t${CSI}22;0t`, ['t'], ''),
  hostile('decreqtparm and decid', `${CSI}x${CSI}1x${ESC}Z`, ['x', 'Z'], ''),
  hostile('enq answerback', 'a\x05b', ['\x05'], 'ab'),
  hostile('mouse tracking', `${CSI}?1000h${CSI}?1002h${CSI}?1003h${CSI}?1006h${CSI}?1015h${CSI}?9h`, ['?'], ''),
  hostile('focus reporting', `${CSI}?1004h`, ['1004'], ''),
  hostile('mixed private modes rewritten', `${CSI}?1049;1000;25h`, ['1000'], `${CSI}?1049;25h`),
  hostile('keyboard lock and lnm', `${CSI}2h${CSI}20h${CSI}12l${CSI}2;4h`, ['2h', '20h', '12l'], `${CSI}4h`),
  hostile('modify other keys / kitty keyboard', `${CSI}>4;2m${CSI}>1u${CSI}=1;1u${CSI}?u${CSI}<u`, [CSI], ''),
  hostile('xtversion', `${CSI}>q${CSI}>0q`, [CSI], ''),
  hostile('ris full reset', `${ESC}cx`, [`${ESC}c`], 'x'),
  hostile('decstr soft reset', `${CSI}!p`, [`!p`], ''),
  hostile('leave utf-8 and 8-bit controls', `${ESC}%@${ESC} G${ESC}%G`, [`${ESC}%`, `${ESC} G`], ''),
  hostile('erase saved lines', `${CSI}3J${CSI}2J`, ['3J'], `${CSI}2J`),
  hostile('media copy printer passthrough', `${CSI}5i${CSI}4i`, ['i'], ''),
  hostile('highlight mouse tracking', `${CSI}1;1;1;1;1T`, ['T'], ''),
  hostile('tab stops and locator', `${CSI}3g${ESC}H${CSI}1'z${CSI}1;1'{`, ['g', "'"], ''),
  hostile('parameter overflow', `${CSI}99999999999999999999A${CSI}70000;1H`, ['999', '70000'], ''),
  hostile('cancel mid sequence', `${CSI}1;\x18${OSC}0;x\x1a!`, [CSI, OSC], '!'),
  hostile('sequence flood without final', b(`${CSI}${'1;'.repeat(50_000)}m${CSI}31mred`), ['1;1;1;'], `${CSI}31mred`),
  hostile('long osc flood', b(`${OSC}52;c;${'A'.repeat(200_000)}${BEL}after`), ['AAAA', '52;'], 'after'),
  hostile('nul and other c0', 'a\x00\x01\x0b\x0c\x7fb', ['\x00', '\x0b', '\x0c', '\x7f'], 'ab'),
];

const vi =
  `${CSI}?1049h${CSI}H${CSI}J${CSI}1;1Hhello world${CSI}2;1Hsecond line` +
  Array.from({ length: 21 }, (_, k) => `${CSI}${k + 3};1H~`).join('') +
  `${CSI}24;1H${CSI}K- /tmp/file 1/2 50%${CSI}1;1H${CSI}?25l${CSI}?25h${CSI}?1049l`;

/** Benign output of real full-screen programs and colourful tools; must pass byte-identical. */
export const BENIGN_CASES: BenignCase[] = [
  { name: 'plain text and line controls', input: u('hello\r\nworld\tTAB\bX\x07\r\n') },
  { name: 'utf-8 text', input: u('héllo wörld 日本語 🎉 e\u0301 \u00a0nbsp ﬁ\r\n') },
  { name: '16 colours and attributes', input: b(`${CSI}1;31mred${CSI}0m ${CSI}4;92;44mx${CSI}m ${CSI}2;3;7;9mz${CSI}22;23;27m`) },
  { name: '256 and truecolor', input: b(`${CSI}38;5;208mo${CSI}48;5;17mb${CSI}38;2;255;128;0mt${CSI}48:2::10:20:30mc${CSI}0m`) },
  { name: 'cursor movement', input: b(`${CSI}A${CSI}2B${CSI}10C${CSI}D${CSI}E${CSI}F${CSI}5G${CSI}H${CSI}3;7H${CSI}3;7f${CSI}4d${CSI}9\``) },
  { name: 'erase, insert, delete', input: b(`${CSI}J${CSI}0J${CSI}1J${CSI}2J${CSI}K${CSI}1K${CSI}2K${CSI}3L${CSI}2M${CSI}4@${CSI}P${CSI}5X${CSI}2S${CSI}T`) },
  { name: 'scroll region and reverse index', input: b(`${CSI}2;23r${CSI}23;1H${ESC}D${ESC}M${ESC}E${CSI}r`) },
  { name: 'save and restore cursor', input: b(`${ESC}7${CSI}5;5Hx${ESC}8${CSI}s${CSI}u${CSI}?1048h${CSI}?1048l`) },
  { name: 'modes full-screen programs use', input: b(`${CSI}?1049h${CSI}?47h${CSI}?1047h${CSI}?25l${CSI}?7l${CSI}?1h${ESC}=${CSI}?2004h${CSI}?2026h${CSI}?2026l${CSI}?2004l${ESC}>${CSI}?1l${CSI}?7h${CSI}?25h${CSI}?1047l${CSI}?47l${CSI}?1049l`) },
  { name: 'line drawing charset', input: b(`${ESC}(0lqqk${ESC}(B${ESC})0\x0eqq\x0f`) },
  { name: 'cursor shape and insert mode', input: b(`${CSI}2 q${CSI} q${CSI}4h${CSI}4l${CSI}?12h${CSI}?5h${CSI}?5l`) },
  { name: 'repeat and tabs', input: b(`x${CSI}10b${CSI}2I${CSI}Z`) },
  { name: 'busybox vi screen', input: b(vi) },
  {
    name: 'busybox less screen',
    input: b(`${CSI}0;0H${CSI}Khello world\r\n${CSI}K~\r\n${CSI}24;0H${CSI}K${CSI}7m/tmp/file${CSI}m`),
  },
  {
    name: 'busybox top screen',
    input: b(`${CSI}H${CSI}JMem: 1078548K used\r\n${CSI}7m  PID  PPID USER     STAT${CSI}m\r\n    1     0 root     S  init\r\n`),
  },
];
