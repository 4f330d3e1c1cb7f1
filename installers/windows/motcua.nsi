; Windows installer of the Một Cửa counter desktop (NSIS 3, Unicode).
;
; It installs the PyInstaller bundle made on Windows from installers/pyinstaller/motcua.spec
; (the same spec as Linux) for every user of the machine, under Program Files:
;   motcua-desktop.exe (windowed), motcua.exe (console, branch IT), _internal\
; with Start menu entries, an uninstaller, the 64-bit TWAIN data source manager when the
; system lacks it, and a firewall rule for the LAN exchange between the branch's desks.
; WIA (Windows Image Acquisition) is part of Windows; the bundle carries pywin32 to drive
; it and the spooler.
;
; Built by .github/workflows/windows.yml; by hand on Windows (or with Debian's makensis):
;   makensis /DVERSION=0.1.0 /DBUNDLE=dist\motcua /DICON=build\icons\motcua.ico ^
;            /DTWAINDSM=build\twain\TWAINDSM.dll /DOUTDIR=dist installers\windows\motcua.nsi

Unicode true
SetCompressor /SOLID lzma
RequestExecutionLevel admin

!ifndef VERSION
  !error "VERSION is required: /DVERSION=0.1.0"
!endif
!ifndef BUNDLE
  !error "BUNDLE is required: the PyInstaller output folder (dist\motcua)"
!endif
!ifndef OUTDIR
  !define OUTDIR "."
!endif

!define PRODUCT "Một Cửa"
!define PUBLISHER "Một Cửa"
!define REGKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\MotCua"
!define APPPATHS "Software\Microsoft\Windows\CurrentVersion\App Paths"
!define FIREWALL_RULE "Mot Cua LAN sync"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTDIR}\motcua-${VERSION}-setup.exe"
InstallDir "$PROGRAMFILES64\Mot Cua"
InstallDirRegKey HKLM "${REGKEY}" "InstallLocation"
BrandingText "${PRODUCT} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=1033 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${PRODUCT} installer"
VIAddVersionKey /LANG=1033 "LegalCopyright" "${PUBLISHER}"

!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\motcua-desktop.exe"

!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "Vietnamese"
!insertmacro MUI_LANGUAGE "English"

LangString NoPdfPrinting ${LANG_VIETNAMESE} "Chưa có phần mềm đọc PDF có thể in (như SumatraPDF hoặc Adobe Acrobat Reader). Hãy cài một phần mềm như vậy để in giấy tiếp nhận và các biểu mẫu."
LangString NoPdfPrinting ${LANG_ENGLISH} "No PDF reader that can print is installed (such as SumatraPDF or Adobe Acrobat Reader). Install one to print the receipt slips and forms."
LangString Needs64 ${LANG_VIETNAMESE} "Một Cửa cần Windows 64-bit."
LangString Needs64 ${LANG_ENGLISH} "Một Cửa needs 64-bit Windows."

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "$(Needs64)"
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "Một Cửa" SecMain
  SectionIn RO
  ; An upgrade replaces the whole bundle: files the new version no longer has must go.
  RMDir /r "$INSTDIR\_internal"
  SetOutPath "$INSTDIR"
  File "${BUNDLE}\motcua-desktop.exe"
  File "${BUNDLE}\motcua.exe"
  File /r "${BUNDLE}\_internal"
  !ifdef ICON
    File "/oname=motcua.ico" "${ICON}"
  !endif
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\${PRODUCT}"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\${PRODUCT}.lnk" "$INSTDIR\motcua-desktop.exe"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\${PRODUCT} — Kiosk.lnk" "$INSTDIR\motcua-desktop.exe" "--kiosk"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\Gỡ cài đặt ${PRODUCT}.lnk" "$INSTDIR\uninstall.exe"

  ; `motcua` from the Run box and `start motcua`; cmd.exe needs the full path.
  WriteRegStr HKLM "${APPPATHS}\motcua.exe" "" "$INSTDIR\motcua.exe"
  WriteRegStr HKLM "${APPPATHS}\motcua-desktop.exe" "" "$INSTDIR\motcua-desktop.exe"

  WriteRegStr HKLM "${REGKEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${REGKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${REGKEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${REGKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${REGKEY}" "DisplayIcon" "$INSTDIR\motcua-desktop.exe"
  WriteRegStr HKLM "${REGKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${REGKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${REGKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${REGKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${REGKEY}" "EstimatedSize" "$0"

  ; The branch's desks exchange dossiers on TCP 8471 (docs/install.md): allow the app in.
  nsExec::Exec 'netsh advfirewall firewall delete rule name="${FIREWALL_RULE}"'
  Pop $0
  nsExec::Exec 'netsh advfirewall firewall add rule name="${FIREWALL_RULE}" dir=in action=allow program="$INSTDIR\motcua-desktop.exe" enable=yes profile=domain,private'
  Pop $0
SectionEnd

Section "TWAIN" SecTwain
  ; 64-bit programs reach TWAIN scanners through TWAINDSM.dll in System32; Windows ships
  ; only the 32-bit TWAIN_32.DLL. Installed when missing, left in place on uninstall
  ; (other scanning programs share it).
  !ifdef TWAINDSM
    ${DisableX64FSRedirection}
    ${IfNot} ${FileExists} "$SYSDIR\TWAINDSM.dll"
      SetOutPath "$SYSDIR"
      File "${TWAINDSM}"
    ${EndIf}
    ${EnableX64FSRedirection}
  !endif
SectionEnd

Section "-Printing check"
  ; Slips go to the spooler as PDF through the reader registered for "printto".
  ReadRegStr $0 HKCR ".pdf" ""
  ${If} $0 != ""
    ReadRegStr $1 HKCR "$0\shell\printto\command" ""
  ${EndIf}
  ${If} $1 == ""
    MessageBox MB_ICONINFORMATION|MB_OK "$(NoPdfPrinting)" /SD IDOK
  ${EndIf}
SectionEnd

Section "Uninstall"
  nsExec::Exec 'netsh advfirewall firewall delete rule name="${FIREWALL_RULE}"'
  Pop $0
  Delete "$SMPROGRAMS\${PRODUCT}\*.lnk"
  RMDir "$SMPROGRAMS\${PRODUCT}"
  DeleteRegKey HKLM "${APPPATHS}\motcua.exe"
  DeleteRegKey HKLM "${APPPATHS}\motcua-desktop.exe"
  DeleteRegKey HKLM "${REGKEY}"
  ; The program folder only: each clerk's data (%LOCALAPPDATA%\MotCua\motcua) stays.
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\motcua-desktop.exe"
  Delete "$INSTDIR\motcua.exe"
  Delete "$INSTDIR\motcua.ico"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
SectionEnd
