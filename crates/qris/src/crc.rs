/// CRC-16/CCITT-FALSE (CRC-16/IBM-3740) as QRIS uses it for tag 63.
const CCITT_FALSE: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
///
/// QRIS computes it over the UTF-8 bytes of everything before the CRC value, `6304` included,
/// and writes it as four upper-case hex digits (see [`crc_text`]).
///
/// ```
/// assert_eq!(snapqris_qris::crc16(b"123456789"), 0x29B1);
/// ```
pub fn crc16(data: &[u8]) -> u16 {
    CCITT_FALSE.checksum(data)
}

/// The tag 63 value for a CRC: four upper-case hex digits, leading zeros kept (`007B`).
pub fn crc_text(crc: u16) -> String {
    format!("{crc:04X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_of_the_check_string_is_29b1() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn crc16_of_nothing_is_the_initial_value() {
        assert_eq!(crc16(b""), 0xFFFF);
    }

    #[test]
    fn crc_text_keeps_leading_zeros_and_is_upper_case() {
        assert_eq!(crc_text(0x7B), "007B");
        assert_eq!(crc_text(0x0ABC), "0ABC");
        assert_eq!(crc_text(0), "0000");
        assert_eq!(crc_text(0xfd26), "FD26");
    }

    #[test]
    fn a_known_string_with_a_crc_under_0x1000_is_written_with_a_leading_zero() {
        // Found by search once; checks the CRC and its text together.
        let crc = crc16(b"00020101021163045");
        assert_eq!(crc, 0x08B1);
        assert_eq!(crc_text(crc), "08B1");
    }
}
