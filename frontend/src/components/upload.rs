//! Uploads from the browser: files and folders picked with `<input
//! type=file>`, packed into a tar here (Rust writes the headers; the browser
//! reads each file's bytes as the upload sends them, so nothing is copied
//! into memory first), or an archive sent as it is.

use wasm_bindgen::JsValue;

use crate::components::progress::js_error;

/// A folder (Feather's, MIT).
pub const FOLDER_ICON: &str =
    "M22 19a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h5l2 3h9a2 2 0 0 1 2 2z";
/// A file (Feather's, MIT).
pub const FILE_ICON: &str = "M13 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9zM13 2v7h7";
/// A box: an archive (Feather's "package", MIT).
pub const ARCHIVE_ICON: &str = "M21 8v13H3V8M1 3h22v5H1zM10 12h4";

/// A property of a JS object.
pub fn prop(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// The first file an `<input type=file>` holds.
pub fn first_file(input: &web_sys::HtmlInputElement) -> Option<JsValue> {
    files_of(input).into_iter().next()
}

/// The files an `<input type=file>` holds (a `FileList`, read through JS so
/// no extra web-sys feature is needed).
pub fn files_of(input: &web_sys::HtmlInputElement) -> Vec<JsValue> {
    let Ok(list) = js_sys::Reflect::get(input, &"files".into()) else {
        return Vec::new();
    };
    if list.is_null() || list.is_undefined() {
        return Vec::new();
    }
    let n = js_sys::Reflect::get(&list, &"length".into())
        .ok()
        .and_then(|n| n.as_f64())
        .unwrap_or(0.0) as u32;
    (0..n)
        .filter_map(|i| js_sys::Reflect::get_u32(&list, i).ok())
        .filter(|f| f.is_object())
        .collect()
}

/// A `File`'s name.
pub fn file_name(file: &JsValue) -> String {
    js_sys::Reflect::get(file, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// Where a picked file goes: its path inside a picked folder (with the
/// folder's own name when `keep_folder`), else its name.
pub fn picked_path(file: &JsValue, keep_folder: bool) -> String {
    let relative = prop(file, "webkitRelativePath")
        .as_string()
        .unwrap_or_default();
    if keep_folder && !relative.is_empty() {
        return relative;
    }
    match relative.split_once('/') {
        Some((_, rest)) if !rest.is_empty() => rest.to_owned(),
        _ => prop(file, "name").as_string().unwrap_or_default(),
    }
}

/// A tar of `texts` (path and bytes, written first) and `files` (path and
/// a browser `File`), as a `Blob` to send.
pub fn pack(texts: &[(&str, &[u8])], files: &[(String, JsValue)]) -> Result<web_sys::Blob, String> {
    let parts = js_sys::Array::new();
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let push_bytes = |parts: &js_sys::Array, bytes: &[u8]| {
        parts.push(&js_sys::Uint8Array::from(bytes));
    };
    for (path, bytes) in texts {
        let path = tar::clean_path(path)?;
        push_bytes(&parts, &tar::header(&path, bytes.len() as u64, now)?);
        push_bytes(&parts, bytes);
        push_bytes(&parts, &vec![0u8; tar::padding(bytes.len() as u64)]);
    }
    for (path, file) in files {
        let path = tar::clean_path(path)?;
        let size = prop(file, "size").as_f64().unwrap_or(0.0) as u64;
        let mtime = prop(file, "lastModified")
            .as_f64()
            .map_or(now, |ms| (ms / 1000.0) as u64);
        push_bytes(&parts, &tar::header(&path, size, mtime)?);
        parts.push(file);
        let pad = tar::padding(size);
        if pad > 0 {
            push_bytes(&parts, &vec![0u8; pad]);
        }
    }
    push_bytes(&parts, &tar::end());
    web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|e| js_error(&e))
}

/// A tiny ustar writer: 512-byte headers (long paths split into the ustar
/// prefix field), data padded to 512 bytes, two zero blocks at the end.
/// Only regular files (typeflag `0`, mode 0644): all a build context needs.
pub mod tar {
    pub const BLOCK: usize = 512;

    /// A context path as the archive holds it: `/` separated, relative,
    /// without `.` or `..` parts.
    pub fn clean_path(path: &str) -> Result<String, String> {
        let parts: Vec<&str> = path
            .split(['/', '\\'])
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.is_empty() {
            return Err(format!("{path:?} is not a file path"));
        }
        if parts.contains(&"..") {
            return Err(format!("{path:?} points outside the build context"));
        }
        Ok(parts.join("/"))
    }

    /// Splits a path longer than 100 bytes at a `/` so that the head fits
    /// the 155-byte prefix field and the rest the 100-byte name field.
    fn split(path: &str) -> Result<(&str, &str), String> {
        if path.len() <= 100 {
            return Ok(("", path));
        }
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' && i > 0 && i <= 155 && path.len() - i - 1 <= 100 {
                return Ok((&path[..i], &path[i + 1..]));
            }
        }
        Err(format!(
            "{path:?} is too long for a tar archive (at most 255 bytes, with no file or folder name over 100)"
        ))
    }

    /// `value` in octal, right-aligned in `field` and ended by NUL.
    fn octal(field: &mut [u8], value: u64) -> Result<(), String> {
        let width = field.len() - 1;
        let text = format!("{value:0width$o}");
        if text.len() > width {
            return Err(format!("{value} does not fit a tar header field"));
        }
        field[..width].copy_from_slice(text.as_bytes());
        field[width] = 0;
        Ok(())
    }

    /// The header of a regular file of `size` bytes at `path` (cleaned),
    /// modified at `mtime` (Unix seconds).
    pub fn header(path: &str, size: u64, mtime: u64) -> Result<[u8; BLOCK], String> {
        let (prefix, name) = split(path)?;
        let mut h = [0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], 0o644)?;
        octal(&mut h[108..116], 0)?;
        octal(&mut h[116..124], 0)?;
        octal(&mut h[124..136], size)
            .map_err(|_| format!("{path:?} is too large for a tar archive (8 GiB at most)"))?;
        octal(&mut h[136..148], mtime)?;
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
        // The checksum: the header's bytes summed with its own field as spaces.
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
        h[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
        h[154] = 0;
        h[155] = b' ';
        Ok(h)
    }

    /// The zero bytes that round `size` up to whole blocks.
    pub fn padding(size: u64) -> usize {
        match (size % BLOCK as u64) as usize {
            0 => 0,
            rest => BLOCK - rest,
        }
    }

    /// The end of an archive: two zero blocks.
    pub fn end() -> [u8; 2 * BLOCK] {
        [0u8; 2 * BLOCK]
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn headers_follow_ustar() {
            let h = header("app/hello.txt", 5, 1_700_000_000).expect("header");
            assert_eq!(&h[..13], b"app/hello.txt");
            assert_eq!(&h[124..136], b"00000000005\0");
            assert_eq!(&h[257..263], b"ustar\0");
            assert_eq!(h[156], b'0');
            let mut copy = h;
            copy[148..156].copy_from_slice(b"        ");
            let sum: u64 = copy.iter().map(|b| u64::from(*b)).sum();
            let field = std::str::from_utf8(&h[148..154]).expect("ascii");
            assert_eq!(u64::from_str_radix(field, 8).expect("octal"), sum);
        }

        #[test]
        fn long_paths_use_the_prefix() {
            let long = format!("{}/{}/file.txt", "a".repeat(90), "b".repeat(60));
            let h = header(&long, 0, 0).expect("header");
            assert_eq!(&h[..69], format!("{}/file.txt", "b".repeat(60)).as_bytes());
            assert_eq!(&h[345..435], "a".repeat(90).as_bytes());
            assert!(header(&"x".repeat(101), 0, 0).is_err());
            assert!(header(&format!("{}/y", "x".repeat(200)), 0, 0).is_err());
        }

        #[test]
        fn paths_are_cleaned() {
            assert_eq!(clean_path("./a//b\\c").as_deref(), Ok("a/b/c"));
            assert!(clean_path("../x").is_err());
            assert!(clean_path("/").is_err());
            assert_eq!(padding(512), 0);
            assert_eq!(padding(513), 511);
        }
    }
}
