/** Node prints serials in upper case hex, @peculiar/x509 in lower case; either may keep a leading zero byte. */
export function normalizeSerial(serial: string): string {
  return serial.toUpperCase().replace(/^0+(?=.)/, '');
}
