// Why: the kernel command line must carry the bootkit's required args, a serial console as
// /dev/console, the media id, and let users override defaults without duplicates.
import { describe, expect, it } from 'vitest';
import { kernelArgs, serialUnit } from '../../../src/iso/kargs.js';
import { grubQuote, grubTitle } from '../../../src/render/templates.js';

describe('kernelArgs', () => {
  it('has the bootkit args, consoles with serial last, the media id', () => {
    const a = kernelArgs({ volid: 'MAKEISO_X' });
    expect(a).toEqual(
      expect.arrayContaining(['root=tmpfs', 'rootflags=mode=0755', 'rd.skipfsck', 'noresume', 'makeiso.volid=MAKEISO_X']),
    );
    const consoles = a.filter((x) => x.startsWith('console='));
    expect(consoles).toEqual(['console=tty0', 'console=ttyS0,115200']);
  });

  it('sets the tmpfs size and the serial port', () => {
    const a = kernelArgs({ volid: 'V', tmpfsSize: '3G', console: { port: 'ttyS1', speed: 9600 } });
    expect(a).toContain('rootflags=size=3G,mode=0755');
    expect(a).toContain('console=ttyS1,9600');
    expect(serialUnit('ttyS1')).toBe(1);
  });

  it('lets an extra key=value replace a default and appends flags', () => {
    const a = kernelArgs({ volid: 'V', extra: ['usbcore.delay_ms=0', 'quiet'] });
    expect(a.filter((x) => x.startsWith('usbcore.delay_ms='))).toEqual(['usbcore.delay_ms=0']);
    expect(a.at(-1)).toBe('quiet');
  });
});

describe('GRUB quoting', () => {
  it('leaves plain args alone and single-quotes the rest', () => {
    expect(grubQuote('console=ttyS0,115200')).toBe('console=ttyS0,115200');
    expect(grubQuote('a b')).toBe(`'a b'`);
    expect(grubQuote(`x'$(reboot)`)).toBe(`'x'\\''$(reboot)'`);
    expect(grubTitle(`it's`)).toBe(`it'\\''s`);
  });
});
