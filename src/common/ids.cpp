#include "common/ids.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ctime>
#include <stdexcept>
#include <vector>

namespace berth {

std::string NewId(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    // The CSPRNG failing is not an expected condition: nothing secure can continue.
    throw std::runtime_error("RAND_bytes failed");
  }
  return Base64UrlEncode(buf.data(), buf.size());
}

std::string Base64Encode(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool Base64Decode(const std::string& text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  std::string buf(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad++;
  if (text.size() > 1 && text[text.size() - 2] == '=') pad++;
  buf.resize(static_cast<std::size_t>(n) - pad);
  *out = std::move(buf);
  return true;
}

std::string Base64UrlEncode(const unsigned char* data, std::size_t size) {
  std::string s = Base64Encode(std::string(reinterpret_cast<const char*>(data), size));
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return s;
}

std::string Base64UrlEncode(const std::string& data) {
  return Base64UrlEncode(reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

bool Base64UrlDecode(const std::string& text, std::string* out) {
  std::string s = text;
  for (char& c : s) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return false;
  }
  if (s.size() % 4 == 1) return false;
  while (s.size() % 4 != 0) s.push_back('=');
  return Base64Decode(s, out);
}

std::string HexEncode(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::string HexEncode(const std::string& data) {
  return HexEncode(reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

bool HexDecode(const std::string& text, std::string* out) {
  if (text.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string buf;
  buf.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    buf.push_back(static_cast<char>((hi << 4) | lo));
  }
  *out = std::move(buf);
  return true;
}

bool DecodeKey32(const std::string& text, std::string* out) {
  std::size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return false;
  std::size_t e = text.find_last_not_of(" \t\r\n");
  std::string t = text.substr(b, e - b + 1);
  std::string bytes;
  if ((t.size() == 64 && HexDecode(t, &bytes)) ||
      ((Base64Decode(t, &bytes) || Base64UrlDecode(t, &bytes)) && bytes.size() == 32)) {
    *out = std::move(bytes);
    return true;
  }
  return false;
}

std::string FormatRfc3339Millis(long long unix_millis) {
  std::time_t secs = static_cast<std::time_t>(unix_millis / 1000);
  long long ms = unix_millis % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

}  // namespace berth
